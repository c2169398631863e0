# compat suite: the textbook's own PyTorch program, /work/shared/seeds/001_36cd299da6500f0c.txt section 5.2
# ("源代码详细实现", four code fragments). The fragments are copied verbatim, in the book's order, except where a
# line is marked "completion:" or "fix:": the book never defines train_loader / test_loader, builds the optimizer
# from `model` before `model` exists, and trains 10 epochs; the completion adds MNIST loaders (torchvision, as the
# book's section 5.1 environment), defines the model before the optimizer, and reads the epoch count from --epochs
# (default 10, the book's). Nothing else is changed.
import torch
import torch.nn as nn
import torch.optim as optim
import argparse  # completion: --epochs
from torchvision import datasets, transforms  # completion: the data the book trains on (MNIST)

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = nn.functional.relu(x)
        x = self.conv2(x)
        x = nn.functional.relu(x)
        x = nn.functional.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = nn.functional.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = nn.functional.softmax(x, dim=1)
        return output

# completion: command line, seed and data loaders (batch sizes as pytorch/examples mnist)
parser = argparse.ArgumentParser(description='textbook 001 section 5.2 MNIST CNN')
parser.add_argument('--epochs', type=int, default=10)
parser.add_argument('--batch-size', type=int, default=64)
args = parser.parse_args()
torch.manual_seed(1)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train_loader = torch.utils.data.DataLoader(datasets.MNIST('../data', train=True, download=True, transform=transform),
                                           batch_size=args.batch_size, shuffle=True)
test_loader = torch.utils.data.DataLoader(datasets.MNIST('../data', train=False, transform=transform),
                                          batch_size=1000)

def train_model(model, device, train_loader, criterion, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 10 == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))

def test_model(model, device, test_loader, criterion):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += criterion(output, target).item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
model = Net().to(device)
criterion = nn.CrossEntropyLoss()  # fix: the book defines criterion and optimizer before model exists
optimizer = optim.Adam(model.parameters(), lr=0.001)

for epoch in range(args.epochs):  # 训练10轮  (fix: the book's range(10), kept as the --epochs default)
    train_model(model, device, train_loader, criterion, optimizer, epoch)
    test_model(model, device, test_loader, criterion)
