"""Components a tenant stack creates: its record in the runtime (through the admin API)."""
