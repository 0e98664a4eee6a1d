"""The pre-flight: everything learnt about photos before they cost credits.

Data flow of one folder (`run.preflight`)::

    discover -> analysis.analyze (per file, in workers: decode -> measure -> faces ->
    checks -> fingerprint) -> assemble (whole folder: placement, duplicates, identity,
    caps) -> report

Per-image modules: `discover`, `decode` (+ `jpeg`), `measure` (+ `sharpness`), `faces`
(how the pre-flight uses the face models), `checks` (image and face checks in one
registry), `fingerprint`, `analysis`. Whole-folder modules: `dedup`, `selection`,
`assemble`, `report`. The package is named for what it does rather than `preflight`,
so that `animus_prep.preflight` stays the function.
"""
