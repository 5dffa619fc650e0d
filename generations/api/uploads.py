"""Uploads: ``POST /api/v1/uploads`` stores an image once, to send its id as a reference;
``GET`` lists them, ``DELETE /api/v1/uploads/<id>`` removes one."""

from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.api.errors import InvalidReference
from generations.api.pagination import PAGE_PARAMETERS, NewestFirstCursorPagination, page_serializer
from generations.api.parsers import BoundedMultiPartParser
from generations.api.references import file_read
from generations.api.requests import AuthenticatedRequest
from generations.api.schema import error_responses
from generations.selectors.uploads import upload_get_owned, upload_list_owned
from generations.services.errors import ReferenceRejected
from generations.services.uploads import upload_create, upload_delete


class UploadOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text='Send as {"upload_id": id} in `references`.')
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    bytes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was last sent as a reference; null while unused."
    )


class UploadListCreateApi(APIView):
    parser_classes = [BoundedMultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="A JPEG, PNG, WebP, BMP, TIFF or GIF image of at most 10 MB."
        )

    OutputSerializer = UploadOutputSerializer

    @extend_schema(
        operation_id="uploads_list",
        summary="List your uploads",
        description="Newest first, paginated by cursor. Unused uploads count against your "
        "quota; an upload idle for a day is removed.",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_serializer("UploadPage", UploadOutputSerializer(many=True)),
            **error_responses(400),
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(upload_list_owned(user=request.user), request, view=self)
        return paginator.get_paginated_response(UploadOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="uploads_create",
        summary="Upload a reference image",
        description="Checked as every reference is (readable image, size and aspect limits). "
        "Only you can use the upload. Unused uploads are limited per user (429 for too many, "
        "413 for too many bytes, with the numbers).",
        request={"multipart/form-data": InputSerializer},
        responses={201: UploadOutputSerializer, **error_responses(400, 413, 429)},
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


class UploadDeleteApi(APIView):
    @extend_schema(
        operation_id="uploads_delete",
        summary="Delete an upload",
        description="Generations that used it keep their own copy of the image.",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: AuthenticatedRequest, upload_id: UUID) -> Response:
        upload = upload_get_owned(user=request.user, upload_id=str(upload_id))
        if upload is None:
            raise NotFound("No such upload of yours.")
        upload_delete(upload=upload)
        return Response(status=status.HTTP_204_NO_CONTENT)
