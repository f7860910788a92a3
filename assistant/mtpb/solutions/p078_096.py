"""Reference solutions for MTPB problems 78-96 (one code template per turn)."""

SOLUTIONS: dict[str, list[str]] = {
    "78": [
        "lst1 = {{l1}}",
        "lst2 = {{l2}}",
        """def mean(numbers):
    return sum(numbers) / len(numbers)""",
        """mean1 = mean(lst1)
mean2 = mean(lst2)""",
        "print(min(mean1, mean2))",
    ],
    "79": [
        "lst1 = {{l1}}",
        """import numpy as np

avg = np.mean(lst1)
sd = np.std(lst1)""",
        "cv = sd / avg",
        "print(cv)",
    ],
    "80": [
        "lst1 = {{l1}}",
        "lst2 = [abs(x) for x in lst1]",
        "l1 = sum(lst2)",
        "print(l1)",
    ],
    "81": [
        """import numpy as np

lst1 = {{lst1}}""",
        "sample_mean = np.mean(lst1)",
        "sample_std = np.std(lst1)",
        "z_statistic = (sample_mean - 0) / sample_std",
        "print(z_statistic)",
    ],
    "82": [
        "lst1 = {{lst}}",
        """lst_pos = [x for x in lst1 if x >= 0]
lst_neg = [x for x in lst1 if x < 0]""",
        "lst2 = lst_pos + lst_neg",
        "print(lst2)",
    ],
    "83": [
        "w = {{w}}",
        "w = w.lower()",
        """import re

new_word = re.sub(r"[a-z]", "", w)""",
        "print(new_word)",
    ],
    "84": [
        """import numpy as np

X = np.array({{X}})""",
        "Xn = X @ X.T",
        "np.fill_diagonal(Xn, 0)",
        "print(float(Xn.max()))",
    ],
    "85": [
        """import numpy as np

pred = np.array({{pred}})
y = np.array({{y}})""",
        "match = pred == y",
        "non_zero = y > 0",
        "correct = np.logical_and(match, non_zero)",
        "prec = np.count_nonzero(correct) / np.count_nonzero(pred)",
        "rec = np.count_nonzero(correct) / np.count_nonzero(y)",
        "print(2 * prec * rec / (prec + rec))",
    ],
    "86": [
        "concat = {{x}}",
        """import re

pat = re.compile(r"([A-Z])")""",
        r"""result = pat.sub(r" \1", concat)""",
        "print(result)",
    ],
    "87": [
        "x = {{x}}",
        """import numpy as np

mean = np.mean(x)
std = np.std(x)""",
        # boundary values count as tail values (the first test case sits exactly on mean + 2 * std)
        "results = [v for v in x if v <= mean - 2 * std or v >= mean + 2 * std]",
        "print(sorted(results))",
    ],
    "88": [
        "x = {{x}}",
        "vocab = sorted(set(x))",
        "v2i = {v: i for i, v in enumerate(vocab)}",
        """import numpy as np

features = np.zeros((len(x), len(vocab)), dtype=int)""",
        """for i, value in enumerate(x):
    features[i, v2i[value]] = 1""",
        "print(features)",
    ],
    "89": [
        "x = {{x}}",
        """import builtins

fun = getattr(builtins, {{fun}})
mapped = [fun(item) for item in x]""",
        "mapped = [m.__name__ if isinstance(m, type) else str(m) for m in mapped]",
        "results = {key: [] for key in dict.fromkeys(mapped)}",
        """for key, value in zip(mapped, x):
    results[key].append(value)""",
        "print(results)",
    ],
    "90": [
        """best = -1
array = {{array}}""",
        "minimum = array[0]",
        """for value in array[1:]:
    if value - minimum > best:
        best = value - minimum
    if value < minimum:
        minimum = value""",
        "print(best)",
    ],
    "91": [
        """target = {{target}}
nums = {{nums}}
result = []""",
        """for i, num in enumerate(nums):
    if num == target:
        result.append(i)""",
        "print(sum(result))",
    ],
    "92": [
        """nums = {{nums}}
N = {{N}}""",
        "all_nums = set(range(1, N + 1))",
        "diff = all_nums - set(nums)",
        "print(diff.pop())",
    ],
    "93": [
        "X = {{x}}",
        "common = set(X[0])",
        """for row in X:
    common = common & set(row)""",
        "print(list(common))",
    ],
    "94": [
        """start = {{start}}
seq = [start]""",
        """while start != 1:
    if start % 2 == 0:
        start = start // 2
    else:
        start = start * 3 + 1
    seq.append(start)""",
        "results = sum(seq)",
        "print(results)",
    ],
    "95": [
        """pos = {{start}}
swap = {{swap}}""",
        """def move(x, y):
    return y.replace(x, "")""",
        """for element in swap:
    if pos in element:
        pos = move(pos, element)""",
        "print(pos)",
    ],
    "96": [
        """stack = []
num = str({{x}})""",
        """for ch in num:
    stack.append(ch)""",
        """result = ""
while stack:
    result += stack.pop()""",
        "print(int(result))",
    ],
}
