"""``POST /api/v1/uploads``: store an image once, then use its id as a reference."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services.errors import ReferenceRejected
from ..services.uploads import upload_create
from .errors import InvalidReference
from .parsers import BoundedMultiPartParser
from .references import file_read
from .requests import AuthenticatedRequest
from .schema import error_responses


class UploadCreateApi(APIView):
    parser_classes = [BoundedMultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="A JPEG, PNG, WebP, BMP, TIFF or GIF image of at most 10 MB."
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(help_text='Send as {"upload_id": id} in `references`.')
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        format = serializers.CharField()
        bytes = serializers.IntegerField()

    @extend_schema(
        operation_id="uploads_create",
        summary="Upload a reference image",
        description="Checked as every reference is (readable image, size and aspect limits). "
        "Only you can use the upload.",
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer, **error_responses(400, 413)},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        content = file_read(serializer.validated_data["file"], field="file")
        try:
            upload = upload_create(user=request.user, content=content)
        except ReferenceRejected as error:
            raise InvalidReference("file", str(error)) from error
        return Response(self.OutputSerializer(upload).data, status=status.HTTP_201_CREATED)

    def max_body_bytes(self) -> int:
        return settings.REFERENCE_MAX_BYTES + 64 * 1024
