"""The pulumi-policy pack folder (PulumiPolicy.yaml, __main__.py): `pulumi preview --policy-pack <this folder>`."""
