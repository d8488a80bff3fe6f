"""Issue 17's acceptance tests: training scripts written as public PyTorch examples are
(pytorch/examples' mnist, word_language_model, vae, dcgan and time_sequence_prediction,
and a nanoGPT-style character transformer), with synthetic data and small sizes, run
unchanged with `torch` bound to pydl. Each must train (its loss falls) and, where PyTorch
is installed, the same script runs under the real torch as a control.

Each script is the example's code, shortened but not rewritten into pydl's idioms; it sets
`losses` (the training losses in order) and may set `extra` (anything else to check).
"""

import sys
import textwrap

import numpy as np
import pytest

SCRIPTS = {
    # pytorch/examples mnist/main.py: Adadelta, StepLR, DataLoader, log_softmax + nll_loss
    "cnn_adadelta_steplr": """
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim as optim
        from torch.optim.lr_scheduler import StepLR
        from torch.utils.data import DataLoader, TensorDataset

        class Net(nn.Module):
            def __init__(self):
                super(Net, self).__init__()
                self.conv1 = nn.Conv2d(1, 8, 3, 1)
                self.conv2 = nn.Conv2d(8, 16, 3, 1)
                self.dropout1 = nn.Dropout(0.25)
                self.dropout2 = nn.Dropout(0.5)
                self.fc1 = nn.Linear(16 * 4 * 4, 32)
                self.fc2 = nn.Linear(32, 10)

            def forward(self, x):
                x = self.conv1(x)
                x = F.relu(x)
                x = self.conv2(x)
                x = F.relu(x)
                x = F.max_pool2d(x, 2)
                x = self.dropout1(x)
                x = torch.flatten(x, 1)
                x = self.fc1(x)
                x = F.relu(x)
                x = self.dropout2(x)
                x = self.fc2(x)
                output = F.log_softmax(x, dim=1)
                return output

        torch.manual_seed(1)
        images = torch.from_numpy(images_np)
        targets = torch.from_numpy(labels_np)
        train_loader = DataLoader(TensorDataset(images, targets), batch_size=16, shuffle=True)
        test_loader = DataLoader(TensorDataset(images, targets), batch_size=32)
        device = torch.device("cpu")
        model = Net().to(device)
        optimizer = optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
        losses = []
        for epoch in range(1, 4):
            model.train()
            for batch_idx, (data, target) in enumerate(train_loader):
                data, target = data.to(device), target.to(device)
                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            scheduler.step()
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        extra = {"accuracy": correct / len(test_loader.dataset), "lr": scheduler.get_last_lr()[0]}
    """,
    # pytorch/examples word_language_model: LSTM LM, batchify, repackage_hidden, clipping
    "word_lstm_lm": """
        import math
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class RNNModel(nn.Module):
            def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.2):
                super(RNNModel, self).__init__()
                self.ntoken = ntoken
                self.drop = nn.Dropout(dropout)
                self.encoder = nn.Embedding(ntoken, ninp)
                self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
                self.decoder = nn.Linear(nhid, ntoken)
                self.init_weights()
                self.nhid = nhid
                self.nlayers = nlayers

            def init_weights(self):
                initrange = 0.1
                nn.init.uniform_(self.encoder.weight, -initrange, initrange)
                nn.init.zeros_(self.decoder.bias)
                nn.init.uniform_(self.decoder.weight, -initrange, initrange)

            def forward(self, input, hidden):
                emb = self.drop(self.encoder(input))
                output, hidden = self.rnn(emb, hidden)
                output = self.drop(output)
                decoded = self.decoder(output)
                decoded = decoded.view(-1, self.ntoken)
                return F.log_softmax(decoded, dim=1), hidden

            def init_hidden(self, bsz):
                weight = next(self.parameters())
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))

        def batchify(data, bsz):
            nbatch = data.size(0) // bsz
            data = data.narrow(0, 0, nbatch * bsz)
            data = data.view(bsz, -1).t().contiguous()
            return data

        def repackage_hidden(h):
            if isinstance(h, torch.Tensor):
                return h.detach()
            else:
                return tuple(repackage_hidden(v) for v in h)

        def get_batch(source, i, bptt=8):
            seq_len = min(bptt, len(source) - 1 - i)
            data = source[i:i+seq_len]
            target = source[i+1:i+1+seq_len].view(-1)
            return data, target

        torch.manual_seed(1)
        corpus = torch.tensor(words_np, dtype=torch.long)
        train_data = batchify(corpus, 4)
        ntokens = 20
        model = RNNModel(ntokens, 16, 24, 1, dropout=0.0)
        criterion = nn.NLLLoss()
        lr = 20.0
        losses = []
        for epoch in range(4):
            model.train()
            total_loss = 0.
            hidden = model.init_hidden(4)
            for batch, i in enumerate(range(0, train_data.size(0) - 1, 8)):
                data, targets = get_batch(train_data, i)
                model.zero_grad()
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
                loss = criterion(output, targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-lr)
                total_loss += loss.item()
            losses.append(total_loss / (batch + 1))
        extra = {"ppl": math.exp(losses[-1])}
    """,
    # pytorch/examples word_language_model's TransformerModel
    "word_transformer_lm": """
        import math
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class PositionalEncoding(nn.Module):
            def __init__(self, d_model, dropout=0.1, max_len=5000):
                super(PositionalEncoding, self).__init__()
                self.dropout = nn.Dropout(p=dropout)
                pe = torch.zeros(max_len, d_model)
                position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
                div_term = torch.exp(
                    torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
                pe[:, 0::2] = torch.sin(position * div_term)
                pe[:, 1::2] = torch.cos(position * div_term)
                pe = pe.unsqueeze(0).transpose(0, 1)
                self.register_buffer('pe', pe)

            def forward(self, x):
                x = x + self.pe[:x.size(0), :]
                return self.dropout(x)

        class TransformerModel(nn.Transformer):
            def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.1):
                super(TransformerModel, self).__init__(
                    d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers)
                self.model_type = 'Transformer'
                self.src_mask = None
                self.pos_encoder = PositionalEncoding(ninp, dropout)
                self.input_emb = nn.Embedding(ntoken, ninp)
                self.ninp = ninp
                self.decoder = nn.Linear(ninp, ntoken)
                self.init_weights()

            def _generate_square_subsequent_mask(self, sz):
                return torch.log(torch.tril(torch.ones(sz, sz)))

            def init_weights(self):
                initrange = 0.1
                nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
                nn.init.zeros_(self.decoder.bias)
                nn.init.uniform_(self.decoder.weight, -initrange, initrange)

            def forward(self, src, has_mask=True):
                if has_mask:
                    if self.src_mask is None or self.src_mask.size(0) != len(src):
                        mask = self._generate_square_subsequent_mask(len(src))
                        self.src_mask = mask
                else:
                    self.src_mask = None
                src = self.input_emb(src) * math.sqrt(self.ninp)
                src = self.pos_encoder(src)
                output = self.encoder(src, mask=self.src_mask)
                output = self.decoder(output)
                return F.log_softmax(output, dim=-1)

        torch.manual_seed(1)
        corpus = torch.tensor(words_np, dtype=torch.long)
        data = corpus.narrow(0, 0, (corpus.size(0) // 4) * 4).view(4, -1).t().contiguous()
        ntokens = 20
        model = TransformerModel(ntokens, 16, 2, 32, 2, 0.0)
        criterion = nn.NLLLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        losses = []
        for epoch in range(4):
            model.train()
            total = 0.0
            n = 0
            for i in range(0, data.size(0) - 1, 8):
                seq_len = min(8, len(data) - 1 - i)
                src, targets = data[i:i+seq_len], data[i+1:i+1+seq_len].reshape(-1)
                optimizer.zero_grad()
                output = model(src)
                output = output.view(-1, ntokens)
                loss = criterion(output, targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
                total += loss.item()
                n += 1
            losses.append(total / n)
    """,
    # pytorch/examples vae/main.py
    "vae": """
        import torch
        import torch.utils.data
        from torch import nn, optim
        from torch.nn import functional as F

        class VAE(nn.Module):
            def __init__(self):
                super(VAE, self).__init__()
                self.fc1 = nn.Linear(64, 32)
                self.fc21 = nn.Linear(32, 4)
                self.fc22 = nn.Linear(32, 4)
                self.fc3 = nn.Linear(4, 32)
                self.fc4 = nn.Linear(32, 64)

            def encode(self, x):
                h1 = F.relu(self.fc1(x))
                return self.fc21(h1), self.fc22(h1)

            def reparameterize(self, mu, logvar):
                std = torch.exp(0.5*logvar)
                eps = torch.randn_like(std)
                return mu + eps*std

            def decode(self, z):
                h3 = F.relu(self.fc3(z))
                return torch.sigmoid(self.fc4(h3))

            def forward(self, x):
                mu, logvar = self.encode(x.view(-1, 64))
                z = self.reparameterize(mu, logvar)
                return self.decode(z), mu, logvar

        def loss_function(recon_x, x, mu, logvar):
            BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
            KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return BCE + KLD

        torch.manual_seed(1)
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(binary_np))
        train_loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
        model = VAE()
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for epoch in range(1, 6):
            model.train()
            train_loss = 0
            for batch_idx, (data,) in enumerate(train_loader):
                optimizer.zero_grad()
                recon_batch, mu, logvar = model(data)
                loss = loss_function(recon_batch, data, mu, logvar)
                loss.backward()
                train_loss += loss.item()
                optimizer.step()
            losses.append(train_loss / len(train_loader.dataset))
        with torch.no_grad():
            sample = torch.randn(8, 4)
            sample = model.decode(sample).cpu()
        extra = {"sample_shape": tuple(sample.view(8, 1, 8, 8).shape)}
    """,
    # pytorch/examples dcgan/main.py (16x16 images, small widths)
    "dcgan": """
        import torch
        import torch.nn as nn
        import torch.optim as optim

        nz, ngf, ndf, nc = 8, 8, 8, 1

        def weights_init(m):
            classname = m.__class__.__name__
            if classname.find('Conv') != -1:
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
            elif classname.find('BatchNorm') != -1:
                torch.nn.init.normal_(m.weight, 1.0, 0.02)
                torch.nn.init.zeros_(m.bias)

        class Generator(nn.Module):
            def __init__(self):
                super(Generator, self).__init__()
                self.main = nn.Sequential(
                    nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
                    nn.BatchNorm2d(ngf * 4),
                    nn.ReLU(True),
                    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(ngf * 2),
                    nn.ReLU(True),
                    nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
                    nn.Tanh()
                )

            def forward(self, input):
                return self.main(input)

        class Discriminator(nn.Module):
            def __init__(self):
                super(Discriminator, self).__init__()
                self.main = nn.Sequential(
                    nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                    nn.LeakyReLU(0.2, inplace=True),
                    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(ndf * 2),
                    nn.LeakyReLU(0.2, inplace=True),
                    nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
                    nn.Sigmoid()
                )

            def forward(self, input):
                return self.main(input)

        torch.manual_seed(1)
        netG = Generator()
        netG.apply(weights_init)
        netD = Discriminator()
        netD.apply(weights_init)
        criterion = nn.BCELoss()
        fixed_noise = torch.randn(16, nz, 1, 1)
        real_label, fake_label = 1., 0.
        optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
        optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
        dataloader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(images16_np)), batch_size=16,
            shuffle=True, drop_last=True)
        losses = []
        for epoch in range(3):
            for i, data in enumerate(dataloader, 0):
                netD.zero_grad()
                real_cpu = data[0]
                b_size = real_cpu.size(0)
                label = torch.full((b_size,), real_label, dtype=torch.float)
                output = netD(real_cpu).view(-1)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(b_size, nz, 1, 1)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach()).view(-1)
                errD_fake = criterion(output, label)
                errD_fake.backward()
                errD = errD_real + errD_fake
                optimizerD.step()
                netG.zero_grad()
                label.fill_(real_label)
                output = netD(fake).view(-1)
                errG = criterion(output, label)
                errG.backward()
                optimizerG.step()
                losses.append(errD.item())
        with torch.no_grad():
            fake = netG(fixed_noise).detach().cpu()
        extra = {"fake_shape": tuple(fake.shape), "D_x": D_x}
        # a GAN's losses do not fall monotonically: the discriminator's first loss must
        # beat chance (2 log 2) by the end
        losses = [2 * 0.6931, min(losses[-6:])]
    """,
    # a nanoGPT-style character transformer: causal attention by hand, AdamW, top-k sampling
    "char_transformer_topk": """
        import math
        import torch
        import torch.nn as nn
        from torch.nn import functional as F

        block_size, n_embd, n_head, vocab_size = 16, 32, 4, 12

        class CausalSelfAttention(nn.Module):
            def __init__(self):
                super().__init__()
                self.c_attn = nn.Linear(n_embd, 3 * n_embd)
                self.c_proj = nn.Linear(n_embd, n_embd)
                self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size))
                                     .view(1, 1, block_size, block_size))

            def forward(self, x):
                B, T, C = x.size()
                q, k, v = self.c_attn(x).split(n_embd, dim=2)
                k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
                q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
                v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
                att = F.softmax(att, dim=-1)
                y = att @ v
                y = y.transpose(1, 2).contiguous().view(B, T, C)
                return self.c_proj(y)

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1 = nn.LayerNorm(n_embd)
                self.attn = CausalSelfAttention()
                self.ln_2 = nn.LayerNorm(n_embd)
                self.mlp = nn.ModuleDict(dict(
                    c_fc=nn.Linear(n_embd, 4 * n_embd),
                    c_proj=nn.Linear(4 * n_embd, n_embd),
                    act=nn.GELU(),
                ))
                m = self.mlp
                self.mlpf = lambda x: m.c_proj(m.act(m.c_fc(x)))

            def forward(self, x):
                x = x + self.attn(self.ln_1(x))
                x = x + self.mlpf(self.ln_2(x))
                return x

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.transformer = nn.ModuleDict(dict(
                    wte=nn.Embedding(vocab_size, n_embd),
                    wpe=nn.Embedding(block_size, n_embd),
                    h=nn.ModuleList([Block() for _ in range(2)]),
                    ln_f=nn.LayerNorm(n_embd),
                ))
                self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
                self.transformer.wte.weight = self.lm_head.weight  # weight tying
                self.apply(self._init_weights)

            def _init_weights(self, module):
                if isinstance(module, nn.Linear):
                    torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                    if module.bias is not None:
                        torch.nn.init.zeros_(module.bias)
                elif isinstance(module, nn.Embedding):
                    torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

            def forward(self, idx, targets=None):
                b, t = idx.size()
                pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
                x = self.transformer.wte(idx) + self.transformer.wpe(pos)
                for block in self.transformer.h:
                    x = block(x)
                logits = self.lm_head(self.transformer.ln_f(x))
                loss = None
                if targets is not None:
                    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                           ignore_index=-1)
                return logits, loss

            @torch.no_grad()
            def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
                for _ in range(max_new_tokens):
                    idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
                    logits, _ = self(idx_cond)
                    logits = logits[:, -1, :] / temperature
                    if top_k is not None:
                        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                        logits[logits < v[:, [-1]]] = -float('Inf')
                    probs = F.softmax(logits, dim=-1)
                    idx_next = torch.multinomial(probs, num_samples=1)
                    idx = torch.cat((idx, idx_next), dim=1)
                return idx

        torch.manual_seed(1)
        data = torch.tensor(chars_np, dtype=torch.long)
        model = GPT()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95),
                                      weight_decay=0.1)
        losses = []
        for it in range(40):
            ix = torch.randint(len(data) - block_size, (8,))
            x = torch.stack([data[i:i+block_size] for i in ix])
            y = torch.stack([data[i+1:i+1+block_size] for i in ix])
            logits, loss = model(x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        losses = [sum(losses[:5]) / 5, sum(losses[-5:]) / 5]
        out = model.generate(torch.zeros((1, 1), dtype=torch.long), 20, top_k=3)
        extra = {"generated": tuple(out.shape),
                 "n_params": sum(p.numel() for p in model.parameters())}
    """,
    # pytorch/examples time_sequence_prediction: LSTMCell x 2, LBFGS with a closure, float64
    "lbfgs_sequence": """
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.optim as optim

        class Sequence(nn.Module):
            def __init__(self):
                super(Sequence, self).__init__()
                self.lstm1 = nn.LSTMCell(1, 16)
                self.lstm2 = nn.LSTMCell(16, 16)
                self.linear = nn.Linear(16, 1)

            def forward(self, input, future=0):
                outputs = []
                h_t = torch.zeros(input.size(0), 16, dtype=torch.double)
                c_t = torch.zeros(input.size(0), 16, dtype=torch.double)
                h_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)
                c_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)
                for input_t in input.split(1, dim=1):
                    h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                    h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                    output = self.linear(h_t2)
                    outputs += [output]
                for i in range(future):
                    h_t, c_t = self.lstm1(output, (h_t, c_t))
                    h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                    output = self.linear(h_t2)
                    outputs += [output]
                outputs = torch.cat(outputs, dim=1)
                return outputs

        np.random.seed(0)
        torch.manual_seed(0)
        data = sine_np
        input = torch.from_numpy(data[3:, :-1])
        target = torch.from_numpy(data[3:, 1:])
        test_input = torch.from_numpy(data[:3, :-1])
        seq = Sequence()
        seq.double()
        criterion = nn.MSELoss()
        optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
        losses = []
        for i in range(4):
            def closure():
                optimizer.zero_grad()
                out = seq(input)
                loss = criterion(out, target)
                loss.backward()
                return loss
            optimizer.step(closure)
            with torch.no_grad():
                losses.append(criterion(seq(input), target).item())
        with torch.no_grad():
            pred = seq(test_input, future=5)
        extra = {"pred_shape": tuple(pred.shape), "dtype": str(pred.dtype).split(".")[-1]}
    """,
}


def _data():
    rng = np.random.default_rng(0)
    # 10 classes of 12x12 "images": a class-dependent bright square plus noise
    labels = np.arange(96) % 10
    images = rng.normal(0, 0.3, (96, 1, 12, 12)).astype(np.float32)
    for i, c in enumerate(labels):
        images[i, 0, c : c + 3, c % 4 : c % 4 + 6] += 2.0
    # a "language" of 20 words with a deterministic successor plus noise
    words = [0]
    for _ in range(799):
        words.append((words[-1] * 7 + 3) % 20 if rng.uniform() < 0.9 else int(rng.integers(20)))
    chars = [(i * 5 + i // 12) % 12 for i in range(600)]
    t = np.arange(41) + rng.integers(-4, 4, (12, 1))
    return {
        "images_np": images,
        "labels_np": labels.astype(np.int64),
        "words_np": np.array(words, np.int64),
        "binary_np": (rng.uniform(size=(128, 64)) < np.linspace(0.1, 0.9, 64)).astype(np.float32),
        "images16_np": np.tanh(rng.normal(0, 1, (48, 1, 16, 16))).astype(np.float32),
        "chars_np": np.array(chars, np.int64),
        "sine_np": np.sin(t / 4.0).astype(np.float64),
    }


def _run(source: str) -> dict:
    scope = dict(_data())
    exec(textwrap.dedent(source), scope)  # noqa: S102 - the test's own scripts
    return scope


def _bind_torch_to_pydl(monkeypatch) -> None:
    """`import torch...` gives pydl's modules of the same names."""
    import pydl.nn.functional
    import pydl.nn.init
    import pydl.nn.utils
    import pydl.optim.lr_scheduler
    import pydl.utils.data

    for name, module in {
        "torch": pydl,
        "torch.nn": pydl.nn,
        "torch.nn.functional": pydl.nn.functional,
        "torch.nn.init": pydl.nn.init,
        "torch.nn.utils": pydl.nn.utils,
        "torch.optim": pydl.optim,
        "torch.optim.lr_scheduler": pydl.optim.lr_scheduler,
        "torch.utils": pydl.utils,
        "torch.utils.data": pydl.utils.data,
        "torch.autograd": pydl.autograd,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)


def _check_trained(scope: dict) -> None:
    losses = scope["losses"]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], f"the loss did not fall: {losses}"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_trains_under_import_pydl_as_torch(name, monkeypatch):
    _bind_torch_to_pydl(monkeypatch)
    scope = _run(SCRIPTS[name])
    _check_trained(scope)
    if name == "cnn_adadelta_steplr":
        assert scope["extra"]["accuracy"] > 0.5
        assert scope["extra"]["lr"] == pytest.approx(0.7**3)
    if name == "lbfgs_sequence":
        assert scope["extra"] == {"pred_shape": (3, 45), "dtype": "float64"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_trains_under_pytorch(name, torch):
    """The control: the scripts are PyTorch code, and train under PyTorch too."""
    _check_trained(_run(SCRIPTS[name]))
