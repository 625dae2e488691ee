"""`helixflow plan`: a stack's resources, planned under Pulumi's mocks, with no cloud and no credentials."""
