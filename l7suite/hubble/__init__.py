"""Hubble flows: a GetFlows client of Hubble Relay, a jsonpb parser, and a matcher of expected flows.

The messages come from `l7suite/protos/hubble_min.proto` (Hubble's own field numbers and types);
`python -m l7suite.protos.regenerate` makes its Python modules.
"""
