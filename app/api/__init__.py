"""The JSON API plumbing shared by every API of the project: one error shape, a base view that
never answers HTML, a strict JSON body reader, declared request fields, and the error handlers.

Apps (assistant, …) hold only their endpoints; they build on this package.
"""
