"""Modal and full screens of the TUI: the code editor and the MTPB browser."""
