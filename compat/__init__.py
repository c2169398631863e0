"""The compatibility suite: real public PyTorch programs, ported to shenjing by changing their imports only."""
