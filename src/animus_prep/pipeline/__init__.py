"""The work that talks to the Animus API, built on the client and the pre-flight.

`upload` (accepted photos, exactly once), `character` (found again, never created twice),
`journal` (the record of work done on the server, so reruns resume and never pay twice),
`review` (judge the dataset renders, approve / regenerate / delete), `run` (the whole job).
"""
