"""Content's use cases: upload (staged, probed, then stored), list, show, review, renditions,
spec reports.

An upload is written to a staging file first; only when the probe has read it whole, the size
fits its kind, and the version row is in the transaction, is the file moved into the store.
Anything that fails on the way deletes the staged file and every object this call stored, so a
refused upload leaves no row and no file. (A failure of the final commit, after the move, can
leave an unreferenced object: harmless, found by comparing the store with the rows.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tessera.content import domain, specs
from tessera.content.errors import AssetNotFound, UploadTooLarge
from tessera.content.media import Probed, hash_distance, probe, thumbnail
from tessera.content.renditions import (
    PRESETS,
    Preset,
    output_suffix,
    presets_for,
    render_image,
    render_video,
)
from tessera.content.repository import ContentRepository
from tessera.content.storage import ContentFiles, StagedFile, size_text
from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.content import (
    ContentAsset,
    ContentRendition,
    ContentReview,
    ContentVersion,
    MediaKind,
    ReviewState,
)


@dataclass(frozen=True, slots=True)
class Duplicate:
    asset_id: str
    version_id: str
    distance: int


@dataclass(frozen=True, slots=True)
class Uploaded:
    asset: ContentAsset
    version: ContentVersion
    duplicate: Duplicate | None


@dataclass(frozen=True, slots=True)
class AssetView:
    asset: ContentAsset
    versions: Sequence[ContentVersion]
    reviews: Sequence[ContentReview]
    renditions: Sequence[ContentRendition]

    @property
    def latest(self) -> ContentVersion:
        return self.versions[-1]


@dataclass(frozen=True, slots=True)
class SpecReport:
    version: ContentVersion
    results: list[specs.RuleResult]
    renditions: list[tuple[ContentRendition, list[dict[str, object]]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UploadForm:
    """What a caller says about an upload; the bytes say the rest."""

    filename: str
    title: str | None = None
    creator_id: str | None = None
    deliverable_id: str | None = None
    asset_id: str | None = None


class ContentService:
    def __init__(
        self, session: Session, files: ContentFiles, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.session = session
        self.repo = ContentRepository(session)
        self.files = files
        self.clock = clock

    # Uploads ---------------------------------------------------------------------------------

    def stage(self, chunks: Iterable[bytes], suffix: str = "") -> StagedFile:
        """Write ``chunks`` to a staging file as they come, refused past the largest upload
        (``UploadTooLarge``, the file deleted): a 2 GB video is never held in memory."""
        staged = self.files.staging.new(self.files.max_upload, suffix)
        try:
            for chunk in chunks:
                staged.write(chunk)
        except BaseException:
            staged.discard()
            raise
        staged.close()
        return staged

    def upload_stream(
        self, workspace_id: str, chunks: Iterable[bytes], form: UploadForm, actor: str
    ) -> Uploaded:
        return self.upload(workspace_id, self.stage(chunks), form, actor)

    def upload(
        self, workspace_id: str, staged: StagedFile, form: UploadForm, actor: str
    ) -> Uploaded:
        """Probe the staged file and keep it as a new asset, or as version n+1 of ``asset_id``
        (or of the asset already delivered for ``deliverable_id``). Refuses a file that is not
        a readable image or video, is named for another type, is over its kind's limit, or is
        of another kind than the asset's earlier versions; nothing of a refusal is kept."""
        stored: list[str] = []
        try:
            _check_form(form)
            staged.close()
            probed = probe(staged.path, form.filename)
            self._check_size(probed, staged.size)
            uploaded = self._keep(workspace_id, staged, probed, form, actor, stored)
        except BaseException:
            staged.discard()
            for key in stored:
                self.files.store.delete(key)
            raise
        return uploaded

    def _check_size(self, probed: Probed, size: int) -> None:
        limit = self.files.max_image if probed.facts.kind == "image" else self.files.max_video
        if size > limit:
            raise UploadTooLarge(
                f"the {probed.facts.kind} is {size_text(size)}, over the limit of "
                f"{size_text(limit)} for {probed.facts.kind}s",
                limit=size_text(limit),
            )

    def _keep(
        self,
        workspace_id: str,
        staged: StagedFile,
        probed: Probed,
        form: UploadForm,
        actor: str,
        stored: list[str],
    ) -> Uploaded:
        now = self.clock()
        facts = probed.facts
        asset = self._asset_for(workspace_id, form, MediaKind(facts.kind), now)
        previous = self.repo.version(asset.id, asset.version_count)
        number = self.repo.next_version_number(asset.id)
        version_id = new_id("asv")
        base = f"{workspace_id}/{asset.id}/{version_id}"
        key = base + Path(form.filename).suffix.lower()
        with self.files.staging.scratch(".jpg") as thumb:
            thumbnail(probed.still, thumb)
            self.files.store.put_file(thumb, base + ".thumb.jpg", "image/jpeg")
            stored.append(base + ".thumb.jpg")
        phash = probed.perceptual_hash
        duplicate = self._nearest(workspace_id, asset.id, phash)
        measured = facts.as_dict() | {"size_bytes": staged.size}
        version = ContentVersion(
            id=version_id,
            workspace_id=workspace_id,
            asset_id=asset.id,
            number=number,
            parent_version_id=previous.id if previous else None,
            status=ReviewState.PENDING_REVIEW,
            filename=form.filename,
            storage_key=key,
            thumbnail_key=base + ".thumb.jpg",
            media_type=facts.media_type,
            kind=MediaKind(facts.kind),
            size_bytes=staged.size,
            sha256=staged.sha256,
            width=facts.width,
            height=facts.height,
            duration_seconds=facts.duration_seconds,
            codec=facts.codec,
            bitrate=facts.bitrate,
            fps=facts.fps,
            audio_codec=facts.audio_codec,
            perceptual_hash=phash,
            duplicate_of_version_id=duplicate.version_id if duplicate else None,
            duplicate_distance=duplicate.distance if duplicate else None,
            facts=measured,
            spec_results=[r.as_dict() for r in specs.check(measured)],
            uploaded_by=actor,
            uploaded_at=now,
        )
        self.repo.add(version)
        self.repo.set_status(asset, ReviewState.PENDING_REVIEW, version, now)
        stored.append(key)
        self.files.store.put_file(staged.path, key, facts.media_type)
        return Uploaded(asset, version, duplicate)

    def _asset_for(
        self, workspace_id: str, form: UploadForm, kind: MediaKind, now: datetime
    ) -> ContentAsset:
        asset: ContentAsset | None = None
        if form.asset_id is not None:
            asset = self.repo.asset(workspace_id, form.asset_id)
            if asset is None:
                raise AssetNotFound(f"no asset {form.asset_id} in this workspace",
                                    field="asset_id")  # fmt: skip
        elif form.deliverable_id is not None:
            asset = self.repo.asset_for_deliverable(workspace_id, form.deliverable_id)
        if asset is None:
            asset = ContentAsset(
                workspace_id=workspace_id,
                title=form.title or Path(form.filename).stem or "untitled",
                kind=kind,
                creator_id=form.creator_id,
                deliverable_id=form.deliverable_id,
                status=ReviewState.PENDING_REVIEW,
                version_count=0,
                created_at=now,
                updated_at=now,
            )
            self.repo.add(asset)
        elif asset.kind is not kind:
            raise InvalidInput(
                f"asset {asset.id} is {asset.kind.value}; a new version must be one too, "
                f"not {kind.value}",
                field="file",
            )
        return asset

    def _nearest(self, workspace_id: str, asset_id: str, phash: str) -> Duplicate | None:
        """The closest earlier upload of another asset within ``DUPLICATE_DISTANCE`` bits."""
        best: Duplicate | None = None
        for version_id, other_asset, other_hash in self.repo.hashes(workspace_id, asset_id):
            distance = hash_distance(phash, other_hash)
            if distance <= domain.DUPLICATE_DISTANCE and (best is None or distance < best.distance):
                best = Duplicate(other_asset, version_id, distance)
        return best

    # Reading ---------------------------------------------------------------------------------

    def assets(
        self,
        workspace_id: str,
        status: ReviewState | None = None,
        creator_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ContentAsset]:
        limit = clamp_limit(limit)
        rows = self.repo.assets(workspace_id, status, creator_id, decode_cursor(cursor), limit + 1)
        return page_from(rows, limit)

    def latest_versions(self, assets: Sequence[ContentAsset]) -> dict[str, ContentVersion]:
        return self.repo.latest_versions([a.id for a in assets])

    def asset(self, workspace_id: str, asset_id: str) -> AssetView:
        """An asset with its versions (oldest first), their reviews and its renditions."""
        asset = self._find(workspace_id, asset_id)
        versions = self.repo.versions(asset.id)
        reviews = self.repo.reviews([v.id for v in versions])
        return AssetView(asset, versions, reviews, self.repo.renditions(asset.id))

    def _find(self, workspace_id: str, asset_id: str) -> ContentAsset:
        asset = self.repo.asset(workspace_id, asset_id)
        if asset is None:
            raise AssetNotFound(f"no asset {asset_id} in this workspace")
        return asset

    def _version(self, asset: ContentAsset, number: int | None) -> ContentVersion:
        wanted = asset.version_count if number is None else number
        version = self.repo.version(asset.id, wanted)
        if version is None:
            raise InvalidInput(f"asset {asset.id} has no version {wanted}", field="version")
        return version

    def thumbnail(self, workspace_id: str, asset_id: str) -> bytes:
        version = self._version(self._find(workspace_id, asset_id), None)
        return self.files.store.read(version.thumbnail_key or "")

    # Review ----------------------------------------------------------------------------------

    def review(
        self,
        workspace_id: str,
        asset_id: str,
        decision: str,
        comment: str,
        actor: str,
        version_number: int | None = None,
    ) -> ContentReview:
        """Approve, request a revision (with what to change) or reject the latest version.
        Refuses an older version, one already decided, and a refusal without a comment."""
        asset = self._find(workspace_id, asset_id)
        version = self._version(asset, version_number)
        state = domain.decide(
            version.status, decision, comment, version.number == asset.version_count
        )
        now = self.clock()
        review = ContentReview(
            workspace_id=workspace_id,
            version_id=version.id,
            decision=state,
            comment=comment.strip(),
            actor=actor,
            reviewed_at=now,
        )
        self.repo.add(review)
        self.repo.set_status(asset, state, version, now)
        return review

    # Specs and renditions --------------------------------------------------------------------

    def spec_report(
        self,
        workspace_id: str,
        asset_id: str,
        version_number: int | None = None,
        print_inches: tuple[float, float] = specs.DEFAULT_PRINT_INCHES,
    ) -> SpecReport:
        """Every channel's rules for a version (print at ``print_inches``), and the reports of
        the renditions made from it."""
        asset = self._find(workspace_id, asset_id)
        version = self._version(asset, version_number)
        results = specs.check(version.facts, print_inches=print_inches)
        made = [
            (r, list(r.spec_results))
            for r in self.repo.renditions(asset.id)
            if r.master_version_id == version.id
        ]
        return SpecReport(version, results, made)

    def renditions(self, workspace_id: str, asset_id: str) -> Sequence[ContentRendition]:
        return self.repo.renditions(self._find(workspace_id, asset_id).id)

    def render(
        self,
        workspace_id: str,
        asset_id: str,
        presets: Sequence[str] | None = None,
        version_number: int | None = None,
    ) -> list[ContentRendition]:
        """Make the renditions of a version (every preset its kind takes unless ``presets``
        names some), each probed and checked against its channels. A preset already made from
        this master is returned as it is, so asking twice makes nothing twice."""
        asset = self._find(workspace_id, asset_id)
        master = self._version(asset, version_number)
        wanted = _presets(master.kind.value, presets)
        made: list[ContentRendition] = []
        stored: list[str] = []
        try:
            with self.files.staging.scratch(Path(master.storage_key).suffix) as source:
                fetched = False
                for preset in wanted:
                    existing = self.repo.rendition(master.id, preset.name)
                    if existing is not None:
                        made.append(existing)
                        continue
                    if not fetched:
                        self.files.store.fetch(master.storage_key, source)
                        fetched = True
                    made.append(self._render_one(asset, master, preset, source, stored))
        except BaseException:
            for key in stored:
                self.files.store.delete(key)
            raise
        return made

    def _render_one(
        self,
        asset: ContentAsset,
        master: ContentVersion,
        preset: Preset,
        source: Path,
        stored: list[str],
    ) -> ContentRendition:
        kind = master.kind.value
        suffix, media_type = output_suffix(preset, kind)
        with self.files.staging.scratch(suffix) as target:
            if kind == "video":
                render_video(source, preset, target)
            else:
                render_image(probe(source, master.filename).still, preset, target)
            facts = probe(target, target.name).facts
            measured = facts.as_dict() | {"size_bytes": target.stat().st_size}
            exact = facts.width == preset.width and preset.height in (0, facts.height)
            size = f"{facts.width}x{facts.height}"
            results = [specs.RuleResult("rendition", "size", exact, size)]
            results += specs.check(measured, preset.channels(kind))
            key = f"{asset.workspace_id}/{asset.id}/{master.id}.{preset.name}{suffix}"
            rendition = ContentRendition(
                workspace_id=asset.workspace_id,
                asset_id=asset.id,
                master_version_id=master.id,
                preset=preset.name,
                storage_key=key,
                media_type=media_type,
                size_bytes=int(measured["size_bytes"]),
                width=facts.width,
                height=facts.height,
                facts=measured,
                spec_results=[r.as_dict() for r in results],
                created_at=self.clock(),
            )
            self.repo.add(rendition)
            stored.append(key)
            self.files.store.put_file(target, key, media_type)
        return rendition


def _presets(kind: str, names: Sequence[str] | None) -> list[Preset]:
    if not names:
        return presets_for(kind)
    chosen: list[Preset] = []
    for index, name in enumerate(names):
        preset = PRESETS.get(name)
        if preset is None:
            raise InvalidInput(
                f"presets.{index}: {name!r} is not one of {', '.join(PRESETS)}",
                field=f"presets.{index}",
            )
        if kind not in preset.kinds:
            raise InvalidInput(f"presets.{index}: {name} is not made from a {kind}",
                               field=f"presets.{index}")  # fmt: skip
        chosen.append(preset)
    return chosen


def _check_form(form: UploadForm) -> None:
    for name in ("filename", "title", "creator_id", "deliverable_id", "asset_id"):
        value = getattr(form, name)
        if value is None:
            continue
        problem = storable_text_problem(value)
        if problem is not None:
            raise InvalidInput(f"{name} {problem}", field=name)
    if not form.filename.strip() or len(form.filename) > 255:
        raise InvalidInput("filename must be 1-255 characters", field="filename")
    limits = {"title": 200, "creator_id": 40, "deliverable_id": 40, "asset_id": 40}
    for name, most in limits.items():
        value = getattr(form, name)
        if value is not None and len(value) > most:
            raise InvalidInput(f"{name} must be at most {most} characters", field=name)
