"""REST endpoints of accounts (API-key or session auth)."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ApiKey, CreditAccount, User


class MeApi(APIView):
    """Who the caller is, their balance, and the key in use."""

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        balance = serializers.DictField(child=serializers.IntegerField())
        key = serializers.DictField(allow_null=True)

    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated
        account = CreditAccount.objects.filter(user=request.user).first()
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        data = {
            "username": request.user.get_username(),
            "balance": {
                "available": account.available if account else 0,
                "held": account.held if account else 0,
            },
            "key": {"prefix": api_key.prefix, "name": api_key.name} if api_key else None,
        }
        return Response(self.OutputSerializer(data).data)
