"""Hubble flows: a minimal proto of Hubble's API, a GetFlows client, a jsonpb parser, and a matcher.

`hubble_min_pb2*.py` are generated from `hubble_min.proto` by grpcio-tools (see `codegen.py`);
a unit test regenerates them and compares, so the committed files cannot drift from the proto.
"""
