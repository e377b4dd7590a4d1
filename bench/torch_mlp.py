"""Reference for bench/classify's MLP case: torch_softmax.py's data and loop with
nn.Sequential(Linear(D, H), ReLU(), Linear(H, Q)).
Usage: python3 torch_mlp.py N D Q BATCH EPOCHS H ; prints time and accuracy."""
import sys, time, os, torch
from torch import nn
from torch.utils import data
torch.manual_seed(0); torch.set_num_threads(int(os.environ.get('THREADS', '2')))
n, d, q, bs, epochs, h = (int(a) for a in sys.argv[1:7])
Wt = torch.normal(0, 1, (d, q)); X = torch.normal(0, 1, (n, d)); y = (X @ Wt + torch.normal(0, 1, (n, q))).argmax(1)
it = data.DataLoader(data.TensorDataset(X, y), bs, shuffle=True)
net = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, q))
for m in net:
    if isinstance(m, nn.Linear): m.weight.data.normal_(0, 0.01); m.bias.data.fill_(0)
lossf = nn.CrossEntropyLoss(); opt = torch.optim.SGD(net.parameters(), lr=0.1)
t0 = time.perf_counter()
for ep in range(epochs):
    for Xb, yb in it:
        l = lossf(net(Xb), yb); opt.zero_grad(); l.backward(); opt.step()
t = time.perf_counter() - t0
with torch.no_grad(): acc = float((net(X).argmax(1) == y).float().mean())
steps = epochs * ((n + bs - 1) // bs)
print(f"time_s {t:.3f} acc {acc:.4f} samples_per_s {n*epochs/t:.0f} us_per_step {t*1e6/steps:.1f}")
