"""The case activity feed: what changed in a case, by whom, when, each change with its before and after."""
