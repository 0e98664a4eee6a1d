"""Whole-folder decisions over per-image analyses: placement, duplicates, identity, caps.

Each decision states a rejection the way the per-image checks do (`checks.rejection`).
The duplicate search and the identity scoring here are also what the render review uses,
so a render and a reference photo are judged by one rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import replace

from ..faces.identity import Embedding, cosine, judge_identity, similarities
from ..faces.types import Face
from ..policy import Policy
from ..reasons import Reason, ReasonCode
from .analysis import ImageAnalysis, spread_vector
from .checks import face_blur_in_training_crop, rejection
from .colour import FACE_COLOUR
from .dedup import MIRRORED
from .discover import Kind
from .duplicates import Copy, find_copies, search_radius
from .mirrors import with_mirrors
from .report import ImageReport, MetricValue, Report
from .selection import select_within_cap


def _metrics(a: ImageAnalysis, policy: Policy) -> dict[str, MetricValue]:
    out: dict[str, MetricValue] = {"file_bytes": a.file_bytes}
    m = a.measurements
    if m is not None:
        blur = a.blur_score()
        out.update(
            edge_width=round(m.sharpness.edge_width, 4),
            blur_score=None if blur is None else round(blur, 4),
            edge_pixels=m.sharpness.edge_pixels,
            noise_sigma=round(m.sharpness.noise_sigma, 3),
            luma_p10=m.luma_p10,
            luma_p50=m.luma_p50,
            luma_p90=m.luma_p90,
            clipped_fraction=round(m.clipped_fraction, 4),
            quality=round(a.quality(), 4),
            detail_top_band=round(m.detail.top_band, 3),
        )
        if m.saturation is not None:
            out["saturation"] = round(m.saturation, 1)
        if m.border.widest > 0:
            # The share of the height (top, bottom) or width (left, right) each bar covers.
            for edge in ("top", "bottom", "left", "right"):
                out[f"border_{edge}"] = round(getattr(m.border, edge), 4)
        source = m.detail.short_side
        if source is not None and source < min(m.width, m.height):
            # The estimated size of the photo this one was enlarged from.
            short = min(m.width, m.height)
            out["source_width"] = max(1, round(m.width * source / short))
            out["source_height"] = max(1, round(m.height * source / short))
    if a.jpeg_quality is not None:
        out["jpeg_quality"] = a.jpeg_quality
    if m is not None and m.pixel_jpeg_quality is not None:
        # The quality the pixels show they were compressed at, whatever the file is now.
        out["pixel_jpeg_quality"] = m.pixel_jpeg_quality
    if a.orientation != 1:
        out["exif_orientation"] = a.orientation
    out.update(_face_metrics(a, policy))
    face_saturation = _face_saturation(a)
    if face_saturation is not None:
        out["face_saturation"] = round(face_saturation, 1)
    turn = a.faces.turn if a.faces is not None else None
    if turn is not None:
        # How to turn the photo for its face to be upright, and the scores that say so.
        out["turn_clockwise"] = turn.clockwise
        out["face_score_as_is"] = round(turn.score_as_is, 4)
        out["face_score_turned"] = round(turn.score_turned, 4)
        if turn.strength_as_is is not None and turn.strength_turned is not None:
            out["face_strength_as_is"] = round(turn.strength_as_is, 3)
            out["face_strength_turned"] = round(turn.strength_turned, 3)
    if a.print is not None:
        out["phash"] = f"{a.print.phash:016x}"
    return out


def _face_metrics(a: ImageAnalysis, policy: Policy) -> dict[str, MetricValue]:
    """What the face checks measured of the main face, passed or not: its blur in the
    training crop (`face_edge_width`, against `max_face_edge_width`) and its exposure."""
    out: dict[str, MetricValue] = {}
    findings, m = a.faces, a.measurements
    if findings is None or m is None or findings.main is None:
        return out
    blur = face_blur_in_training_crop(findings, m.width, m.height, policy)
    if blur is not None:
        out["face_edge_width"] = round(blur, 4)
    exposure = findings.face_exposure
    if exposure is not None:
        out["face_luma_p10"] = round(exposure.p10, 1)
        out["face_luma_p50"] = round(exposure.p50, 1)
        out["face_luma_p90"] = round(exposure.p90, 1)
        out["face_clipped_fraction"] = round(exposure.clipped_fraction, 4)
    return out


def assemble(
    root: str,
    analyses: Sequence[ImageAnalysis],
    policy: Policy,
    *,
    references: Sequence[ImageAnalysis] = (),
    executor: Executor | None = None,
) -> Report:
    """Set-level decisions (duplicates, identity, caps) over per-image analyses.
    `executor` runs the verification of duplicate candidates."""
    reasons: list[list[Reason]] = [a.reasons() for a in analyses]
    for i, a in enumerate(analyses):
        if a.candidate.kind is None:
            reasons[i].insert(
                0,
                rejection(
                    "placement",
                    ReasonCode.MISPLACED,
                    "not in face/ or body/<view>/ of the character folder, so its kind is "
                    "unknown; move it there or check its folder with --kind",
                ),
            )
    copies = _copies_within_kinds(analyses, policy, executor)
    duplicate_of = {i: (c.keep, c.similarity) for i, c in copies.items()}
    for i, copy in copies.items():
        reasons[i].append(_duplicate_reason(analyses[copy.keep].candidate.relpath, copy, policy))
    linked: dict[int, str] = {}
    for i, a in enumerate(analyses):
        first = a.candidate.same_as
        if first is not None:
            linked[i] = first
            reasons[i].append(
                rejection(
                    "duplicate",
                    ReasonCode.DUPLICATE,
                    f"one more path to the folder {first}, which links reach by too many "
                    f"paths to list them all: its files are judged under {first}/",
                )
            )
    identity, warnings, identity_of = _apply_identity(
        analyses, reasons, duplicate_of, references, policy
    )
    for where, distinct, radius in _narrowed_searches(analyses, policy):
        warnings.append(
            f"with this many photos ({distinct:,} distinct pictures {where}), duplicate "
            f"candidates were searched within {radius} bits of hash distance, not "
            f"{policy.duplicate_hash_distance}: copies cropped by more than ~5% may be missed"
        )
    _apply_caps(analyses, reasons, policy)
    close_ups = _close_ups(analyses, policy)
    accepted_close_ups = [analyses[i].candidate.relpath for i in close_ups if not reasons[i]]
    if accepted_close_ups:
        warnings.append(_close_up_warning(accepted_close_ups, policy))
    others = _other_faces(analyses, policy)
    faceless = _faceless_fronts(analyses)
    accepted_faceless = [analyses[i].candidate.relpath for i in faceless if not reasons[i]]
    if accepted_faceless:
        warnings.append(_faceless_warning(accepted_faceless))
    monochromes = _monochromes(analyses, policy)
    accepted_monochromes = [analyses[i].candidate.relpath for i in monochromes if not reasons[i]]
    if accepted_monochromes:
        warnings.append(_monochrome_warning(accepted_monochromes))
    images = tuple(
        ImageReport(
            path=a.candidate.relpath,
            kind=a.candidate.kind,
            image_type=a.candidate.image_type,
            reasons=tuple(reasons[i]),
            width=a.width,
            height=a.height,
            format=a.format,
            sha256=a.sha256,
            metrics=_metrics(a, policy),
            duplicate_of=(
                analyses[duplicate_of[i][0]].candidate.relpath
                if i in duplicate_of
                else linked.get(i)
            ),
            duplicate_mirrored=i in copies and copies[i].how == MIRRORED,
            notes=a.notes
            + tuple(n[i] for n in (close_ups, others, faceless, monochromes) if i in n),
            faces=_faces(a),
            identity_score=identity.get(i),
            embedding=a.faces.embedding if a.faces is not None else None,
            fingerprint=a.print,
        )
        for i, a in enumerate(analyses)
    )
    return Report(
        root=root, policy=policy, images=images, warnings=tuple(warnings), identity=identity_of
    )


def _duplicate_reason(kept: str, copy: Copy, policy: Policy) -> Reason:
    if copy.how == "same file":
        text = f"the same file as {kept} (another path to it), which is kept"
    elif copy.how == MIRRORED:
        text = (
            f"a mirror image of {kept} (its picture flipped left to right; {kept} is kept, "
            f"similarity {copy.similarity:.2f}): a mirrored copy adds no view of the person "
            "(trainers flip photos themselves) and shows the face the wrong way round"
        )
    elif copy.how == "identical":
        text = f"a byte-identical copy of {kept}, which is kept"
    else:
        text = (
            f"same picture as {kept}, which is the better copy (similarity {copy.similarity:.2f})"
        )
    return rejection(
        "duplicate",
        ReasonCode.DUPLICATE,
        text,
        score=copy.similarity,
        threshold=policy.duplicate_min_similarity,
    )


def duplicates_among(
    analyses: Sequence[ImageAnalysis], policy: Policy, executor: Executor | None = None
) -> dict[int, tuple[int, float]]:
    """Every copy that is not the best of its duplicate group: index -> (index of the
    copy kept, similarity to it)."""
    return {i: (c.keep, c.similarity) for i, c in find_copies(analyses, policy, executor).items()}


def main_face_embeddings(analyses: Sequence[ImageAnalysis]) -> dict[int, Embedding]:
    """Index -> identity embedding of the main face, for analyses that have one."""
    return {
        i: a.faces.embedding
        for i, a in enumerate(analyses)
        if a.faces is not None and a.faces.embedding is not None
    }


def identity_mismatches(
    embeddings: Mapping[int, Embedding], target: Embedding, policy: Policy, against: str
) -> tuple[dict[int, float], dict[int, Reason]]:
    """Each face's similarity to the character's identity, and a rejection for every face
    under the policy's same-person threshold (`against` names what it was compared to)."""
    scores = similarities(embeddings, target)
    reasons = {
        i: rejection(
            "identity",
            ReasonCode.IDENTITY_MISMATCH,
            f"looks like someone else: similarity {score:.2f} to {against} "
            f"(same person above {policy.identity_threshold:.3f}); if it is the character, "
            "the face may be partly hidden (sunglasses, a mask, a hand), which a LoRA would "
            "learn too",
            score=score,
            threshold=policy.identity_threshold,
        )
        for i, score in scores.items()
        if score < policy.identity_threshold
    }
    return scores, reasons


def _faces(a: ImageAnalysis) -> tuple[Face, ...] | None:
    if a.faces is None or a.faces.unavailable is not None:
        return None
    return a.faces.faces


def _copies_within_kinds(
    analyses: Sequence[ImageAnalysis], policy: Policy, executor: Executor | None
) -> dict[int, Copy]:
    """Duplicates among the face photos, and among the body photos, apart: one picture may
    serve as a face and as a body reference (they are sent as different image types), so
    a copy in face/ does not make the one in body/ a duplicate, nor the other way round.
    Files outside both (misplaced) are searched with each, so a stray backup is still
    named a copy of the photo in place."""
    sets = _search_sets(analyses)
    if len(sets) == 1:
        return with_mirrors(analyses, find_copies(analyses, policy, executor), policy, executor)
    copies: dict[int, Copy] = {}
    for _kind, members in sets:
        some = [analyses[i] for i in members]
        found = with_mirrors(some, find_copies(some, policy, executor), policy, executor)
        for j, c in found.items():
            i, keep = members[j], members[c.keep]
            earlier = copies.get(i)
            # A misplaced file searched with both kinds: a copy kept in place names it
            # better than another misplaced file does.
            if earlier is None or (
                analyses[earlier.keep].candidate.kind is None
                and analyses[keep].candidate.kind is not None
            ):
                copies[i] = replace(c, keep=keep)
    return _to_kept_photos(copies)


def _to_kept_photos(copies: Mapping[int, Copy]) -> dict[int, Copy]:
    """Every copy naming a photo that is kept: a misplaced file found a copy in one kind's
    search may be the photo kept for another copy in the other's. Each such copy is
    taken along the links to the photo kept at their end, as alike as its least alike
    link, and mirrored when an odd number of the links are (two flips cancel out)."""
    out: dict[int, Copy] = {}
    for i, copy in copies.items():
        chain = [copy]
        seen = {i}
        while chain[-1].keep in copies and chain[-1].keep not in seen:
            seen.add(chain[-1].keep)
            chain.append(copies[chain[-1].keep])
        if len(chain) == 1 or chain[-1].keep in seen:
            out[i] = copy  # kept as it was (a loop cannot be followed to a kept photo)
            continue
        flips = sum(link.how == MIRRORED for link in chain)
        how = MIRRORED if flips % 2 else (copy.how if flips == 0 else "aligned")
        out[i] = Copy(chain[-1].keep, min(link.similarity for link in chain), how)
    return out


def _search_sets(analyses: Sequence[ImageAnalysis]) -> list[tuple[Kind | None, list[int]]]:
    """The sets the duplicate search runs over, as `_copies_within_kinds` makes them: each
    kind with the misplaced files, or the whole folder when it holds one kind."""
    kinds = sorted(k for k in {a.candidate.kind for a in analyses} if k is not None)
    if len(kinds) <= 1:
        return [(None, list(range(len(analyses))))]
    return [
        (kind, [i for i, a in enumerate(analyses) if a.candidate.kind in (kind, None)])
        for kind in kinds
    ]


def _narrowed_searches(
    analyses: Sequence[ImageAnalysis], policy: Policy
) -> list[tuple[str, int, int]]:
    """Each search set whose size narrowed the search below the policy's hash distance:
    where it is, its number of distinct pictures and the radius searched."""
    out: list[tuple[str, int, int]] = []
    for kind, members in _search_sets(analyses):
        prints = (analyses[i].print for i in members)
        distinct = len({p.pixel_hash for p in prints if p is not None})
        radius = search_radius(distinct, policy)
        if radius < policy.duplicate_hash_distance:
            where = "in the folder" if kind is None else f"among the {kind} photos"
            out.append((where, distinct, radius))
    return out


def _apply_identity(
    analyses: Sequence[ImageAnalysis],
    reasons: list[list[Reason]],
    duplicate_of: dict[int, tuple[int, float]],
    references: Sequence[ImageAnalysis],
    policy: Policy,
) -> tuple[dict[int, float], list[str], Embedding | None]:
    """Score face photos, and body photos whose face was embedded, against the
    character's identity; flag the other people. The identity comes from the reference
    photos, or from the person most face photos show (`judge_identity`; body photos vote
    only when too few face photos can). Photos that show several people, none of whom
    can be taken for the character, are `identity_unclear`. Also returns the identity
    (an embedding) when one was found."""
    warnings: list[str] = []
    unavailable = next(
        (a.faces.unavailable for a in analyses if a.faces and a.faces.unavailable), None
    )
    if unavailable:
        return {}, [f"{unavailable}; face checks were skipped"], None
    if not policy.faces or not policy.identity:
        return {}, warnings, None
    embeddings = main_face_embeddings(analyses)
    # Each picture votes once: copies of one photo must not outvote the rest. A photo of
    # several people does not vote: its main face need not be the character's, and group
    # photos of others could outvote the character (they are still scored below). Body
    # photos vote only when too few face photos can (a folder of body photos), and not
    # for a picture that votes already (one kept in face/ and in body/ too).
    eligible = {
        i: e
        for i, e in embeddings.items()
        if i not in duplicate_of
        and all(r.code is not ReasonCode.MULTIPLE_FACES for r in reasons[i])
    }
    voters = {i: e for i, e in eligible.items() if analyses[i].candidate.kind == "face"}
    faces_vote = len(voters) >= policy.identity_min_faces
    if not faces_vote:
        for i, e in eligible.items():
            if i not in voters and not any(
                _same_picture(analyses[i], analyses[j], e, voters[j]) for j in voters
            ):
                voters[i] = e
    body_only = not any(a.candidate.kind == "face" for a in analyses)
    if not references and body_only and len(voters) < policy.identity_min_faces:
        # Body photos only, too few to tell who the character is, and no reference:
        # saying that identity was not checked would be noise.
        return {}, warnings, None
    ref = [
        a.faces.embedding
        for a in references
        if a.faces is not None and a.faces.embedding is not None and len(a.faces.faces) == 1
    ]
    if references and not ref:
        warnings.append("no reference photo shows exactly one face; identity not checked")
        return {}, warnings, None
    verdict = judge_identity(
        voters, policy.identity_threshold, reference=ref, min_faces=policy.identity_min_faces
    )
    if verdict.source == "unclear":
        # No face can be judged without the character's identity: every embedded one is
        # unclear (a body photo of one of these people, too), and the report says why.
        for i in embeddings:
            reasons[i].append(Reason(ReasonCode.IDENTITY_UNCLEAR, verdict.note or ""))
        warnings.append(f"identity unclear: {verdict.note}")
        return {}, warnings, None
    if verdict.note:
        warnings.append(verdict.note)
    if verdict.target is None:
        return {}, warnings, None
    if ref:
        warnings.extend(_reference_doubts(voters, verdict.target, policy))
    # Every embedded face is scored, copies included, against the one identity.
    against = "the reference photos" if ref else "the person in the most photos"
    scores, mismatches = identity_mismatches(embeddings, verdict.target, policy, against)
    for i, reason in mismatches.items():
        if any(r.code is ReasonCode.MULTIPLE_FACES for r in reasons[i]):
            # The largest face is the one judged; the character may be another of them.
            reason = replace(reason, message=f"its largest face {reason.message}")
        reasons[i].append(reason)
    strangers = sum(1 for i in voters if i in mismatches)
    if not ref and strangers >= 2 and strangers * 4 >= len(voters):
        warnings.append(
            f"{strangers} of the {len(voters)} photos that could vote show someone other "
            "than the person in the most of them: check that this is the right "
            "character's folder, or name photos of the character with --reference"
        )
    return scores, warnings, verdict.target


SAME_PICTURE_COSINE = 0.95
"""Two faces this alike are one picture (copies saved apart), not two photos of a person:
photos of one person, even from one session, embed at 0.6-0.9 of each other."""


def _same_picture(a: ImageAnalysis, b: ImageAnalysis, ea: Embedding, eb: Embedding) -> bool:
    """Whether two analyses are copies of one picture, as far as a vote is concerned."""
    if a.sha256 is not None and a.sha256 == b.sha256:
        return True
    pa, pb = a.print, b.print
    if pa is not None and pb is not None and pa.pixel_hash == pb.pixel_hash:
        return True
    return cosine(ea, eb) >= SAME_PICTURE_COSINE


def _reference_doubts(
    voters: Mapping[int, Embedding], reference: Embedding, policy: Policy
) -> list[str]:
    """A warning when the person most of the photos show is not the reference photos'
    (the wrong folder given as --reference, or the wrong photos in this one)."""
    own = judge_identity(voters, policy.identity_threshold, min_faces=policy.identity_min_faces)
    if own.target is None or cosine(own.target, reference) >= policy.identity_threshold:
        return []
    mine = sum(cosine(e, own.target) >= policy.identity_threshold for e in voters.values())
    return [
        f"{mine} of the {len(voters)} photos that could vote show one person, who is not "
        "the person of the reference photos: check that --reference names this character"
    ]


def _close_ups(analyses: Sequence[ImageAnalysis], policy: Policy) -> dict[int, str]:
    """Body photos that are close-ups of the face (`Policy.close_up_face_share`), each with
    its note: the body LoRA learns the body from them, and a face fills this one."""
    notes: dict[int, str] = {}
    for i, a in enumerate(analyses):
        share = a.face_height_share() if a.candidate.kind == "body" else None
        if share is not None and share > policy.close_up_face_share:
            notes[i] = (
                f"close_up: the face is {share:.0%} of the photo's height: a body photo "
                "should show the body (a close-up of the face belongs in face/)"
            )
    return notes


def _first_three(paths: Sequence[str]) -> str:
    """The first three paths, and how many more there are."""
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _close_up_warning(paths: Sequence[str], policy: Policy) -> str:
    named = _first_three(paths)
    count = f"{len(paths)} accepted body photo{'s' if len(paths) > 1 else ''}"
    return (
        f"{count} {'are close-ups' if len(paths) > 1 else 'is a close-up'} of the face "
        f"(the face over {policy.close_up_face_share:.0%} of the photo's height): "
        f"{named}; the body LoRA learns the body from body photos: put close-ups in "
        "face/ and photos that show the body in body/"
    )


def _faceless_fronts(analyses: Sequence[ImageAnalysis]) -> dict[int, str]:
    """Body photos of the front with no face found (the face checks having run), each
    with its note: a person seen from the front shows a face, so such a photo may show
    no one (a picture of a room, a cup), or the person from behind."""
    notes: dict[int, str] = {}
    for i, a in enumerate(analyses):
        found = a.faces
        if a.candidate.image_type != FRONT or found is None or found.unavailable is not None:
            continue
        if found.main is None:
            notes[i] = (
                "no_face_in_body: no face found in this front body photo: check that it "
                "shows the character (from behind, it belongs in body/back/)"
            )
    return notes


FRONT = "body_image_front"
"""The image type of a body photo taken from the front."""


def _faceless_warning(paths: Sequence[str]) -> str:
    named = _first_three(paths)
    count = f"{len(paths)} accepted front body photo{'s' if len(paths) > 1 else ''}"
    return (
        f"{count} {'show' if len(paths) > 1 else 'shows'} no face: {named}; make sure "
        f"{'they show' if len(paths) > 1 else 'it shows'} the character (the body LoRA "
        "learns whoever, or whatever, the body photos show)"
    )


OTHER_FACE_NOTE_RATIO = 0.2
"""A sure face in a face photo from this share of the main face's size (up to where it
counts as another person: `Policy.second_face_min_ratio`) gets a note: a poster or a
passer-by behind the character, too small to reject the photo for, which a LoRA may
still learn."""


def _other_faces(analyses: Sequence[ImageAnalysis], policy: Policy) -> dict[int, str]:
    """Face photos that show a sure second face too small to count as another person,
    each with its note."""
    notes: dict[int, str] = {}
    for i, a in enumerate(analyses):
        if a.candidate.kind != "face" or a.faces is None or a.faces.main is None:
            continue
        main = a.faces.main
        side = max(main.box[2], main.box[3])
        for f in a.faces.faces[1:]:
            other = max(f.box[2], f.box[3])
            share = other / side if side > 0 else 0.0
            sure = f.score >= policy.second_face_min_score
            if sure and OTHER_FACE_NOTE_RATIO <= share < policy.second_face_min_ratio:
                notes[i] = (
                    f"another_face: a second face, {other:.0f} px against the main face's "
                    f"{side:.0f} px (detector score {f.score:.2f}), too small to count as "
                    f"another person (under {policy.second_face_min_ratio:.0%} of its size): "
                    "crop it out if it is not the character"
                )
                break
    return notes


def _monochromes(analyses: Sequence[ImageAnalysis], policy: Policy) -> dict[int, str]:
    """Black-and-white photos (`Policy.monochrome_saturation`), each with its note."""
    notes: dict[int, str] = {}
    limit = policy.monochrome_saturation
    face_colour = max(FACE_COLOUR, limit)
    for i, a in enumerate(analyses):
        saturation = a.saturation(face_colour)
        if saturation is not None and saturation < limit:
            face = _face_saturation(a)
            measured = f"{saturation:.1f}% at the 90th percentile of its lit pixels"
            if face is not None and face != saturation:
                measured += f"; its face {face:.1f}%, which counts from {face_colour:g}%"
            notes[i] = (
                f"monochrome: black and white, or nearly (saturation {measured}; under "
                f"{limit:g}%): the LoRA learns the person's colouring from the photos"
            )
    return notes


def _face_saturation(a: ImageAnalysis) -> float | None:
    return a.faces.face_saturation if a.faces is not None else None


def _monochrome_warning(paths: Sequence[str]) -> str:
    named = _first_three(paths)
    count = f"{len(paths)} accepted photo{'s' if len(paths) > 1 else ''}"
    return (
        f"{count} {'are' if len(paths) > 1 else 'is'} black and white: {named}; a LoRA "
        "learns skin, hair and eye colour from its photos, and a monochrome look from "
        "black-and-white ones: prefer colour photos"
    )


def _apply_caps(
    analyses: Sequence[ImageAnalysis], reasons: list[list[Reason]], policy: Policy
) -> None:
    for kind in ("face", "body"):
        cap = policy.cap_for(kind)
        pool = [i for i, a in enumerate(analyses) if a.candidate.kind == kind and not reasons[i]]
        if len(pool) <= cap:
            continue
        keep = set(
            select_within_cap(
                [analyses[i].quality() for i in pool],
                [spread_vector(analyses[i]) for i in pool],
                cap,
                groups=[analyses[i].candidate.image_type or "" for i in pool]
                if kind == "body"
                else None,
            )
        )
        for rank, i in enumerate(pool):
            if rank not in keep:
                reasons[i].append(
                    rejection(
                        "cap",
                        ReasonCode.OVER_CAP,
                        f"{len(pool)} {kind} photos passed but the server takes {cap}; "
                        "better or more varied ones were kept",
                        score=float(len(pool)),
                        threshold=float(cap),
                    )
                )
