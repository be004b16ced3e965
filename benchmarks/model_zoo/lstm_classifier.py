import torch
import torch.nn as nn


class SentimentLSTM(nn.Module):
    def __init__(self, vocab_size=20000, embed_dim=128, hidden_dim=256, num_layers=2, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=True, dropout=0.2)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, tokens):
        embedded = self.embedding(tokens)
        output, (hidden, cell) = self.lstm(embedded)
        last = torch.cat([hidden[-2], hidden[-1]], dim=1)
        return self.fc(last)


if __name__ == "__main__":
    model = SentimentLSTM()
    tokens = torch.randint(0, 20000, (16, 200))
    print(model(tokens).shape)
