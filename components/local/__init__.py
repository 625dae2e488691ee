"""The local target's components: processes on this machine managed as Pulumi dynamic resources."""
