"""Pulumi components per cloud, cloud-neutral Kubernetes components, and the local dynamic resources."""
