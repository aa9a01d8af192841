"""`make bench`: the project's hit path against in-repo reimplementations, end to end over HTTP."""
