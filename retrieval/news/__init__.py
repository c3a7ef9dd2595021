"""News steps over an answer's retrieval: outlets, datelines, stories, conflicts, timelines."""
