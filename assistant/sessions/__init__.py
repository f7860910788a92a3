"""Recorded sessions on disk: the autosave store, exports (notebook, script, JSON) and
training data (SFT and preference pairs) built from them."""
