"""The whole tree's pytest plugins: testsupport's process fixtures (the installed package)."""

pytest_plugins = ("testsupport.fixtures",)
