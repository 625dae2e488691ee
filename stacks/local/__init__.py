"""The `local` target: the whole platform as processes on this machine."""
