"""Exports of large tenants, written to the export bucket: the only module that talks to S3.

An export is written as it is read (a multipart upload of 8 MiB parts), so a tenant of any size takes one part's
memory; the client downloads it through a pre-signed URL. The bucket keeps an export for a few days (its lifecycle
rule) and an IdP's erasure deletes its exports at once.
"""

from __future__ import annotations

from functools import cache
from typing import Any

PART_BYTES = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB (but the last)


def export_key(idp_id: str, export_id: str) -> str:
    return f"exports/{idp_id}/{export_id}.jsonl"


def export_prefix(idp_id: str) -> str:
    return f"exports/{idp_id}/"


class ExportWriter:
    """Bytes into one object, part by part; `close()` completes it, `abort()` leaves nothing behind."""

    def __init__(self, client: Any, bucket: str, key: str):
        self._client, self._bucket, self._key = client, bucket, key
        self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-ndjson",
                                                         ServerSideEncryption="AES256")["UploadId"]
        self._parts: list[dict] = []
        self._buffer = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._flush()

    def _flush(self) -> None:
        number = len(self._parts) + 1
        answer = self._client.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                          PartNumber=number, Body=bytes(self._buffer))
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self._buffer.clear()

    def close(self) -> None:
        if self._buffer or not self._parts:
            self._flush()
        self._client.complete_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                               MultipartUpload={"Parts": self._parts})

    def abort(self) -> None:
        self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)


class ExportBucket:
    def __init__(self, client: Any, bucket: str):
        self._client = client
        self._bucket = bucket

    def writer(self, key: str) -> ExportWriter:
        return ExportWriter(self._client, self._bucket, key)

    def download_url(self, key: str, seconds: int) -> str:
        return self._client.generate_presigned_url("get_object", Params={"Bucket": self._bucket, "Key": key},
                                                   ExpiresIn=seconds)

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (an IdP's exports), and abort the uploads still under way there (an
        export running as its IdP is erased); returns how many objects."""
        uploads = self._client.get_paginator("list_multipart_uploads")
        for page in uploads.paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=upload["Key"],
                                                    UploadId=upload["UploadId"])
        deleted = 0
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            objects = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            if objects:
                self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
                deleted += len(objects)
        return deleted


@cache
def export_bucket() -> ExportBucket:
    import boto3
    from botocore.config import Config

    from .config import settings

    name = settings().export_bucket
    if not name:
        raise RuntimeError("EXPORT_BUCKET is not set: this function has no export bucket")
    # Pre-signed URLs name the regional endpoint with a SigV4 signature, which every region accepts.
    return ExportBucket(boto3.client("s3", config=Config(signature_version="s3v4")), name)
