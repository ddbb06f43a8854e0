"""``/v1/jobs``: the caller's workspace's background jobs; admins retry and cancel them.

System jobs (no workspace, such as ``job.pruned``) are not visible here; operators see them
with ``tessera jobs list``.
"""

from __future__ import annotations

from fastapi import Query

from tessera.http.routing import AppSettings, DbSession, router
from tessera.job.schemas import JobOut, JobPage
from tessera.job.service import JobService
from tessera.models.job import JobStatus
from tessera.workspace.auth import Admin, Viewer

api = router(prefix="/v1", tags=["jobs"])


@api.get("/jobs", response_model=JobPage, summary="List jobs, newest first")
def list_jobs(
    principal: Viewer,
    session: DbSession,
    settings: AppSettings,
    status: JobStatus | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    kind: str | None = Query(default=None, max_length=100, description="Only jobs of this kind"),
) -> JobPage:
    page = JobService(session, settings).list_jobs(
        principal.workspace_id, status, cursor, limit, kind
    )
    return JobPage(
        items=[JobOut.model_validate(job) for job in page.items], next_cursor=page.next_cursor
    )


@api.get("/jobs/{job_id}", response_model=JobOut, summary="One job, with its last error")
def get_job(job_id: str, principal: Viewer, session: DbSession, settings: AppSettings) -> JobOut:
    job = JobService(session, settings).get_job(job_id, principal.workspace_id)
    return JobOut.model_validate(job)


@api.post(
    "/jobs/{job_id}/retry", response_model=JobOut, summary="Queue a dead or cancelled job again"
)
def retry_job(job_id: str, principal: Admin, session: DbSession, settings: AppSettings) -> JobOut:
    service = JobService(session, settings)
    return JobOut.model_validate(service.retry(job_id, principal.workspace_id, principal.actor))


@api.post("/jobs/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued job")
def cancel_job(job_id: str, principal: Admin, session: DbSession, settings: AppSettings) -> JobOut:
    job = JobService(session, settings).cancel(
        job_id, principal.workspace_id, actor=principal.actor
    )
    return JobOut.model_validate(job)
