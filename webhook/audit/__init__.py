"""The audit front-end: existing objects (files, dumps, stdin or a live cluster) through the same engine.

stream.py     objects from files and stdin, List items streamed (C JSON scanner, PyYAML events)
cluster.py    objects from a live cluster: paged lists (limit/continue), 410 Expired handled
run.py        audit(objects, policies) -> AuditResult: judged, folded to the controller, compared;
              audit_paths(paths, policies): the same over files and stdin, read as they are judged
evidence.py   policy-set and input digests, report digest and Ed25519 signature
formats/      one renderer per output format (text, json, junit, sarif, policyreport)
"""
