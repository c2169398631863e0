# compat suite: the textbook's own PyTorch program, /work/shared/seeds/004_7a326e40fe772e73.txt (lines ~165-251:
# "使用 torch.nn 构建神经网络" and "训练和k折交叉验证"). The book's code does not run as printed: the class has lost
# its `def __init__` / `def forward` lines, calls `nn.ReLu` (no such name) on an undefined `x`, uses an undefined
# `out`, mixes tab and space indentation, and never defines X_train / y_train / k_folds / epochs / weight_decay.
# Lines marked "completion:" or "fix:" repair exactly that (data: scikit-learn's 8x8 digits, bundled with
# scikit-learn, features scaled to [0, 1]); every other line is the book's. As printed, the book trains each fold on
# the whole X_train (not X_train_batch): kept. The evaluation block is placed after the epoch loop (one accuracy
# per fold, as the book's print says).
import torch
import torch.nn as nn
import torch.optim as optim
import numpy as np
from sklearn.model_selection import KFold
from sklearn.datasets import load_digits  # completion: the data

class TorchNN(nn.Module):
    """
    一个使用 torch.nn.Module 构建的两层神经网络。
    结构: Input -> Linear -> ReLU -> Linear -> (Logits)
    """
    def __init__(self, input_dim, hidden_dim, output_dim):  # fix: missing in the book
        super(TorchNN, self).__init__()
        # 定义第一层：线性变换
        self.layer1 = nn.Linear(input_dim, hidden_dim)
        # 定义第二层（输出层）：线性变换
        self.layer2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):  # fix: missing in the book
        a_1 = nn.functional.relu(self.layer1(x))  # fix: the book's nn.ReLu(self.layer1(x))
        # -> (batch_size, hidden_dim)
        scores = self.layer2(a_1)  # fix: the book's self.layer2(out), printed twice
        # -> (batch_size, output_dim)
        return scores

# completion: the hyperparameters the book lists (k_folds, epochs, weight_decay) and the data
k_folds = 5
epochs = 200
weight_decay = 1e-4
torch.manual_seed(0)
digits = load_digits()
X_train = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y_train = torch.tensor(digits.target, dtype=torch.long)
n_features, n_classes = X_train.shape[1], 10

# --- 初始化K折交叉验证 ---
# 使用scikit-learn的KFold
kfold = KFold(n_splits=k_folds, shuffle=True, random_state=42)
fold_accuracies = []

# --- 开始K折交叉验证 ---
for i, (train_ids, val_ids) in enumerate(kfold.split(X_train)):
    print(f"--- 第 {i+1}/{k_folds} 折 ---")

    # --- 数据准备 ---
    X_train_batch, y_train_batch = X_train[train_ids], y_train[train_ids]
    X_val, y_val = X_train[val_ids], y_train[val_ids]

    # --- 初始化模型、损失函数和优化器 ---
    # 为每一折重新初始化模型
    model = TorchNN(
        input_dim=n_features,
        hidden_dim=32, # 隐藏层神经元数
        output_dim=n_classes
    )

    # PyTorch的CrossEntropyLoss内置了Softmax，因此网络末尾不需要加Softmax
    criterion = nn.CrossEntropyLoss()

    # 使用Adam优化器，并传入weight_decay实现L2正则化
    optimizer = optim.Adam(model.parameters(), weight_decay=weight_decay)

    # --- 训练循环 ---
    for epoch in range(epochs):
        model.train() # 将模型设置为训练模式

        # 1. 前向传播
        outputs = model(X_train)

        # 2. 计算损失
        loss = criterion(outputs, y_train)

        # 3. 反向传播和优化
        optimizer.zero_grad() # 清空之前的梯度
        loss.backward()       # 计算梯度
        optimizer.step()      # 更新权重

    # --- 在验证集上评估 ---
    model.eval() # 将模型设置为评估模式
    with torch.no_grad(): # 在评估时不需要计算梯度
        val_outputs = model(X_val)

        # 获取预测结果 (获取概率最高的类别的索引)
        _, predicted = torch.max(val_outputs.data, 1)

        correct_predictions = (predicted == y_val).sum().item()
        accuracy = correct_predictions / y_val.shape[0]
        fold_accuracies.append(accuracy)

    print(f"第 {i+1} 折的验证准确率: {accuracy:.4f}\n")

print(f"mean validation accuracy: {np.mean(fold_accuracies):.4f}")  # completion: the summary the metric is read from
