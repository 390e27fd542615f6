"""Helpers shared by the test modules (servers, namespaces, waiting); no tests here."""
