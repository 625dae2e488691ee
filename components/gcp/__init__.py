"""GCP components: Network, GpuCluster, Database, Cache, Bucket, Identities, and GcpPlatform composing them."""
