"""Sign-off reports: evidence attachments and charts, the run's environment file, the single-file HTML
report built from Allure results, and the Cilium x Envoy compatibility matrix across runs.

Plain library code (no pytest imports): fixtures/reporting.py and fixtures/evidence.py are the pytest glue,
`python -m l7suite.report` the command line.
"""
