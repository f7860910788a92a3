"""The Textual front end: the only package of the assistant that imports Textual."""
