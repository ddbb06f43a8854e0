"""``/v1/assets``: content uploaded (a raw body or a multipart form, streamed to disk), listed,
shown with its versions, reviews and renditions, reviewed, rendered and checked per channel.

Roles: viewers read; marketers upload, review and make renditions. An upload's body is read by
the route itself (its body family in ``app.py`` lets it through the 2 MB JSON limit) and
written to a staging file chunk by chunk, refused with 413 at the configured limit.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from tessera.content.errors import UnreadableMedia
from tessera.content.schemas import (
    AssetDetail,
    AssetOut,
    AssetPage,
    DuplicateOut,
    RenditionOut,
    RenditionsIn,
    ReviewIn,
    ReviewOut,
    SpecReportOut,
    UploadOut,
    VersionOut,
    rules,
)
from tessera.content.service import ContentService, Uploaded, UploadForm
from tessera.content.specs import summary
from tessera.content.storage import CHUNK_BYTES, StagedFile, files_of_app
from tessera.http.routing import DbSession, router
from tessera.kit.errors import InvalidInput
from tessera.models.content import ContentAsset, ContentVersion, ReviewState
from tessera.workspace.auth import Marketer, Viewer
from tessera.workspace.domain import Principal

api = router(prefix="/v1/assets", tags=["content"])
# The body family's ceiling: the largest TESSERA_CONTENT_MAX_VIDEO_BYTES allowed plus a form's
# overhead; the configured limit is enforced while staging.
UPLOAD_BODY_LIMIT = 50 * 1024**3 + 1024 * 1024
UPLOAD_PATHS = re.compile(r"/v1/assets(?:/[^/]+/versions)?")
_FORM_FIELDS = ("title", "creator_id", "deliverable_id", "asset_id")


def _service(request: Request, session: DbSession) -> ContentService:
    return ContentService(session, files_of_app(request.app.state), request.app.state.clock)


Service = Annotated[ContentService, Depends(_service)]


def asset_out(asset: ContentAsset, latest: ContentVersion | None) -> AssetOut:
    out = AssetOut.model_validate(asset)
    out.channels = summary(latest.spec_results) if latest else {}
    return out


def _uploaded(result: Uploaded) -> UploadOut:
    duplicate = result.duplicate
    return UploadOut(
        asset=asset_out(result.asset, result.version),
        version=VersionOut.model_validate(result.version),
        near_duplicate=DuplicateOut(
            asset_id=duplicate.asset_id, version_id=duplicate.version_id,
            distance=duplicate.distance) if duplicate else None,
    )  # fmt: skip


async def _stage_chunks(chunks: AsyncIterator[bytes], staged: StagedFile) -> None:
    try:
        async for chunk in chunks:
            await run_in_threadpool(staged.write, chunk)
    except BaseException:
        staged.discard()
        raise
    staged.close()


async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


async def _receive(
    request: Request, service: ContentService, form: UploadForm
) -> tuple[StagedFile, UploadForm]:
    """Stage the body: a multipart form's ``file`` part (its fields fill the form) or the raw
    body, named by the ``filename`` query parameter."""
    staged = service.files.staging.new(service.files.max_upload)
    try:
        form = await _read_body(request, staged, form)
    except MultiPartException as exc:
        staged.discard()
        raise InvalidInput(
            f"the multipart body is malformed: {exc.message}", field="file"
        ) from None
    except BaseException:
        staged.discard()
        raise
    if not form.filename:
        staged.discard()
        raise InvalidInput("name the file: ?filename=clip.mp4 or the form part's filename",
                           field="filename")  # fmt: skip
    return staged, form


async def _read_body(request: Request, staged: StagedFile, form: UploadForm) -> UploadForm:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        await _stage_chunks(request.stream(), staged)
        return form
    async with request.form(max_files=1, max_fields=len(_FORM_FIELDS)) as fields:
        upload = fields.get("file")
        if not isinstance(upload, UploadFile):
            raise UnreadableMedia("the form has no file part named file", field="file")
        await _stage_chunks(_file_chunks(upload), staged)
        values = {name: fields.get(name) for name in _FORM_FIELDS}
        texts = {k: v for k, v in values.items() if isinstance(v, str) and v}
        given = {k: getattr(form, k) for k in _FORM_FIELDS} | texts
        return UploadForm(filename=upload.filename or form.filename, **given)


UPLOAD_DOC = (
    "Send the file as the raw body (name it with `?filename=`) or as a multipart form with a "
    "`file` part. Its type is read from its bytes; a corrupt, truncated or misnamed file is "
    "refused (422 `unreadable-media`), one over the limit with 413; nothing of it is kept."
)


@api.post("", response_model=UploadOut, status_code=201, summary="Upload content",
          description=UPLOAD_DOC)  # fmt: skip
async def upload(
    request: Request,
    principal: Marketer,
    service: Service,
    filename: str | None = Query(default=None, max_length=255),
    title: str | None = Query(default=None, max_length=200),
    creator_id: str | None = Query(default=None, max_length=40),
    deliverable_id: str | None = Query(default=None, max_length=40),
) -> UploadOut:
    form = UploadForm(filename or "", title, creator_id, deliverable_id)
    staged, form = await _receive(request, service, form)
    result = await run_in_threadpool(
        service.upload, principal.workspace_id, staged, form, principal.actor
    )
    return _uploaded(result)


@api.post("/{asset_id}/versions", response_model=UploadOut, status_code=201,
          summary="Upload a new version of an asset", description=UPLOAD_DOC)  # fmt: skip
async def upload_version(
    asset_id: str,
    request: Request,
    principal: Marketer,
    service: Service,
    filename: str | None = Query(default=None, max_length=255),
) -> UploadOut:
    service.asset(principal.workspace_id, asset_id)  # 404 before reading a byte
    staged, form = await _receive(request, service, UploadForm(filename or ""))
    form = UploadForm(form.filename, asset_id=asset_id)
    result = await run_in_threadpool(
        service.upload, principal.workspace_id, staged, form, principal.actor
    )
    return _uploaded(result)


@api.get("", response_model=AssetPage, summary="The content library, newest first")
def list_assets(
    principal: Viewer,
    service: Service,
    status: ReviewState | None = None,
    creator_id: str | None = Query(default=None, max_length=40),
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
) -> AssetPage:
    page = service.assets(principal.workspace_id, status, creator_id, cursor, limit)
    latest = service.latest_versions(page.items)
    items = [asset_out(a, latest.get(a.id)) for a in page.items]
    return AssetPage(items=items, next_cursor=page.next_cursor)


def detail(service: ContentService, principal: Principal, asset_id: str) -> AssetDetail:
    view = service.asset(principal.workspace_id, asset_id)
    base = asset_out(view.asset, view.latest)
    return AssetDetail(
        **base.model_dump(),
        versions=[VersionOut.model_validate(v) for v in view.versions],
        reviews=[ReviewOut.model_validate(r) for r in view.reviews],
        renditions=[RenditionOut.model_validate(r) for r in view.renditions],
    )


@api.get("/{asset_id}", response_model=AssetDetail, summary="An asset: versions, reviews, "
         "renditions")  # fmt: skip
def get_asset(asset_id: str, principal: Viewer, service: Service) -> AssetDetail:
    return detail(service, principal, asset_id)


@api.get("/{asset_id}/thumbnail", summary="The latest version's thumbnail (JPEG)",
         response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})  # fmt: skip
def get_thumbnail(asset_id: str, principal: Viewer, service: Service) -> Response:
    data = service.thumbnail(principal.workspace_id, asset_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@api.post("/{asset_id}/reviews", response_model=ReviewOut, status_code=201,
          summary="Approve, request a revision (with a comment) or reject")  # fmt: skip
def review(asset_id: str, body: ReviewIn, principal: Marketer, service: Service) -> ReviewOut:
    row = service.review(
        principal.workspace_id, asset_id, body.decision, body.comment, principal.actor,
        body.version)  # fmt: skip
    return ReviewOut.model_validate(row)


@api.post(
    "/{asset_id}/renditions",
    response_model=list[RenditionOut],
    summary="Make renditions from a version (all its kind takes, or those named)",
)
def make_renditions(
    asset_id: str, body: RenditionsIn, principal: Marketer, service: Service
) -> list[RenditionOut]:
    made = service.render(principal.workspace_id, asset_id, body.presets, body.version)
    return [RenditionOut.model_validate(r) for r in made]


@api.get("/{asset_id}/renditions", response_model=list[RenditionOut],
         summary="The asset's renditions, each with its master and spec results")  # fmt: skip
def list_renditions(asset_id: str, principal: Viewer, service: Service) -> list[RenditionOut]:
    rows = service.renditions(principal.workspace_id, asset_id)
    return [RenditionOut.model_validate(r) for r in rows]


@api.get("/{asset_id}/specs", response_model=SpecReportOut,
         summary="Pass or fail per channel rule, with reasons")  # fmt: skip
def spec_report(
    asset_id: str,
    principal: Viewer,
    service: Service,
    version: int | None = Query(default=None, ge=1, le=1_000_000),
    print_width_in: float = Query(default=6.0, gt=0, le=1000),
    print_height_in: float = Query(default=4.0, gt=0, le=1000),
) -> SpecReportOut:
    report = service.spec_report(
        principal.workspace_id, asset_id, version, (print_width_in, print_height_in)
    )
    results = [r.as_dict() for r in report.results]
    return SpecReportOut(
        version_id=report.version.id,
        version=report.version.number,
        passed=summary(results),
        results=rules(results),
        renditions=[RenditionOut.model_validate(r) for r, _ in report.renditions],
    )
