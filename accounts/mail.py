"""Every mail the platform sends is rendered and sent here: a plain-text part and an HTML part,
from ``DEFAULT_FROM_EMAIL``, naming the installation (``SITE_NAME``) in the subject and body.

A mail is three templates named after its prefix: ``<prefix>_subject.txt``,
``<prefix>_message.txt`` and, optionally, ``<prefix>_message.html``. Without the last, the HTML
part is the text part in the house mail layout (``mail/message.html``), links made clickable:
no mail goes out as text only. The sign-in library's mails (reset, confirmation, notices) come
here through ``accounts.adapter``, so they follow the same rule.
"""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

# The HTML part of a mail that has no HTML template of its own.
FALLBACK_HTML_TEMPLATE = "mail/message.html"


def mail_render(
    *,
    template_prefix: str,
    to: list[str],
    context: dict[str, Any],
    request: HttpRequest | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The mail ``template_prefix`` for ``to``, ready to send."""
    context = {"site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context, request).split())
    text = render_to_string(f"{template_prefix}_message.txt", context, request).strip()
    try:
        html = render_to_string(f"{template_prefix}_message.html", context, request)
    except TemplateDoesNotExist:
        html = render_to_string(
            FALLBACK_HTML_TEMPLATE, {**context, "subject": subject, "text": text}, request
        )
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=text + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def mail_send(
    *,
    template_prefix: str,
    to: list[str],
    context: dict[str, Any],
    request: HttpRequest | None = None,
) -> None:
    """Render and send one mail; a delivery failure raises (callers decide what it means)."""
    mail_render(template_prefix=template_prefix, to=to, context=context, request=request).send()
