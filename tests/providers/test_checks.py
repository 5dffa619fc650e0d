"""`provider_account check`: the cheapest call that proves a key, for every synchronous provider."""

import pytest

from generations.providers import AccountConfig, AuthError, build_adapter
from tests.emulators.acedata import AceDataEmulator
from tests.emulators.ark import ArkEmulator
from tests.emulators.siraya import SirayaEmulator

CASES = [
    ("byteplus", lambda: ArkEmulator(flavour="byteplus"), "/api/v3"),
    ("ark", lambda: ArkEmulator(flavour="volcengine"), "/api/v3"),
    ("siraya", SirayaEmulator, ""),
    ("acedata", AceDataEmulator, ""),
]


@pytest.mark.parametrize(("kind", "make_emulator", "path"), CASES)
def test_check_accepts_a_good_key_and_refuses_a_bad_one(kind, make_emulator, path):
    emulator = make_emulator()

    def adapter(key: str):
        account = AccountConfig(
            kind=kind, label=f"{kind} test", base_url=emulator.base_url + path, api_key=key
        )
        return build_adapter(account, transport=emulator.transport())

    assert "accepted" in adapter(emulator.api_key).check()
    with pytest.raises(AuthError):
        adapter("wrong-key").check()
    # Nothing was generated: no image files were made by the checks.
    assert not emulator.files
