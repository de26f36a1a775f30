"""shipspec: one shipspec.yaml for CI/CD of many services on Kubernetes."""

__version__ = "0.1.0"
