"""Cloud-neutral Kubernetes components: the layer every cluster stack puts on its cluster."""
