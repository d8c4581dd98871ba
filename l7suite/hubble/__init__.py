"""Hubble flows: a GetFlows client of Hubble Relay, a jsonpb parser, a matcher of expected flows, and a
scenario namespace's flows read from the e2e cluster's Relay through a port-forward (relay_flows.py).

The messages come from `l7suite/protos/hubble_min.proto` (Hubble's own field numbers and types);
`python -m l7suite.protos.regenerate` makes its Python modules.
"""
