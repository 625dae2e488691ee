"""AWS components: the network, the GPU cluster, the data stores, the bucket and the identities of a stack,
and `AwsPlatform`, which composes them and puts the Kubernetes layer on the new cluster."""
