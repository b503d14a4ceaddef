# Makes the small ONNX files of test/onnx-fixtures (read by test/onnx-exporter.test.ts; the tests need no Python).
# Debian 12: apt-get install python3-torch python3-onnx (PyTorch 1.13.1); run: /usr/bin/python3.11 test/onnx-fixtures/make.py
# One small network of many ops (BatchNorm after convolutions, depthwise dilated conv, hardswish, split/chunk, a
# channel shuffle, constant and replicate pads, ceil-mode pools, clamp, squeeze-excitation, slicing, x.view(n, -1) of
# a 4×4 map, unsqueeze/squeeze, matmul, softmax/log-softmax), exported by torch.onnx.export with a dynamic batch
# at opsets 9, 11, 13 and 17: once with the BatchNorms kept as nodes (TrainingMode.PRESERVE, no constant folding:
# the importer folds them) and once as the exporter folds by default (opset 13). Each folder: model.onnx,
# input.npy [2, 3, 20, 20], logits.npy (PyTorch's output).
import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))


class Mix(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.bn2 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 12, (1, 3), padding=(0, 1), bias=False)
        self.fc = nn.Linear(96, 10)
        self.fc2 = nn.Linear(10, 7)

    def forward(self, x):
        y = F.relu(self.bn1(self.c1(x)))
        y = F.hardswish(self.bn2(self.dw(y)))
        y = self.c2(y)
        a, b = torch.split(y, [4, 8], dim=1)
        b1, b2 = torch.chunk(b, 2, dim=1)
        y = torch.cat([F.leaky_relu(a, 0.1), torch.sigmoid(b1) * b2, F.hardsigmoid(b2)], 1)
        n, c, h, w = y.shape
        y = y.view(n, 3, c // 3, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        y = F.pad(y, (1, 0, 0, 1))
        y = F.pad(y, (1, 1, 1, 1), mode='replicate')
        y = F.avg_pool2d(y, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        y = torch.clamp(y, -0.5, 0.8)
        se = y.mean([2, 3], keepdim=True)
        y = y * torch.sigmoid(se) - se / 2
        y = F.max_pool2d(y, 2, ceil_mode=True)
        y = y[:, 2:8]
        y = y.reshape(y.size(0), -1)
        z = self.fc(y)
        z = z.unsqueeze(1).squeeze(1)
        z = torch.matmul(z, torch.ones(10, 10) * 0.1) + z
        return torch.cat([F.log_softmax(self.fc2(z), 1), F.softmax(z, dim=-1)], 1)


def main():
    torch.manual_seed(0)
    m = Mix()
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.3)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.2)
    m.eval()
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        y = m(x)
    runs = [(op, 'bn', torch.onnx.TrainingMode.PRESERVE, False) for op in (9, 11, 13, 17)] + [(13, 'folded', torch.onnx.TrainingMode.EVAL, True)]
    for opset, tag, training, folding in runs:
        d = os.path.join(OUT, f'mix_opset{opset}_{tag}')
        os.makedirs(d, exist_ok=True)
        torch.onnx.export(m, x, os.path.join(d, 'model.onnx'), opset_version=opset, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, training=training, do_constant_folding=folding)
        np.save(os.path.join(d, 'input.npy'), x.numpy())
        np.save(os.path.join(d, 'logits.npy'), y.numpy())
        print(d)


if __name__ == '__main__':
    main()
