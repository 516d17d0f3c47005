"""ValidatingAdmissionPolicy interop: native manifests read as podgate policies (importer.py) and
podgate policies written as native ones (exporter.py, with one translator per check in translators/).
See docs/cel.md."""
