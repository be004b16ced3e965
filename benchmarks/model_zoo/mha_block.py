import torch
import torch.nn as nn


class CrossAttentionBlock(nn.Module):
    def __init__(self, dim=192, heads=6, context_dim=192):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x):
        attended, _ = self.self_attn(x, x, x)
        x = self.norm1(x + attended)
        return self.norm2(x + self.ff(x))


if __name__ == "__main__":
    model = CrossAttentionBlock()
    print(model(torch.randn(4, 64, 192)).shape)
