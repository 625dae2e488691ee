"""The simulated Kubernetes cluster (`helixflow sim`): a real control plane, kwok nodes."""
