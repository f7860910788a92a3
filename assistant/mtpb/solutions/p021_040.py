"""MTPB reference solutions for problems 21-40, one code template per turn."""

from __future__ import annotations

SOLUTIONS: dict[str, list[str]] = {
    "21": [
        "elements = {{numbers}}\n",
        "even = sum(n for n in elements if n % 2 == 0)\n",
        "odd = sum(n for n in elements if n % 2 != 0)\n",
        "my_result = [even, odd]\n",
        "print(my_result)\n",
    ],
    "22": [
        "elements = {{lst}}\n",
        """def is_zero(value):
    return value == 0 and not isinstance(value, bool)


zero_count = sum(1 for value in elements if is_zero(value))
""",
        "non_zero = [value for value in elements if not is_zero(value)]\n",
        "result = non_zero + [0] * zero_count\nprint(result)\n",
    ],
    "23": [
        r"""import re

import numpy as np

values = {{array}}
if isinstance(values, str):  # a description such as "1000 randomly sampled integers ..."
    size = int(re.search(r"\d+", values).group())
    bounds = re.search(r"integers ranging from (-?\d+) to (-?\d+)", values)
    if bounds:
        X = np.random.randint(int(bounds.group(1)), int(bounds.group(2)) + 1, size=size)
    else:
        X = np.random.random(size)
else:
    X = np.array(values)
""",
        """def bootstrap_sample(array):
    return np.random.choice(array, size=len(array), replace=True)
""",
        "samples = np.stack([bootstrap_sample(X) for _ in range({{n}})])\n",
        "mean = samples.mean(axis=1)\n",
        "percentile = np.percentile(mean, [2.5, 97.5]).tolist()\n",
        "print(percentile)\n",
    ],
    "24": [
        """a, b = {{a}}, {{b}}
my_digits = [d for d in range(min(a, b), max(a, b) + 1) if d < 10 and d % 2 == 0]
""",
        "result = sum(my_digits)\n",
        "print(int(result))\n",
    ],
    "25": [
        "numbers = {{A}}\nmy_max = max(numbers)\n",
        "my_min = min(numbers)\n",
        "difference = my_max - my_min\n",
        "print(difference)\n",
    ],
    "26": [
        "my_string = {{A}}\n",
        "my_string = my_string.lower()\n",
        "chars = set(my_string)\n",
        "chars = sorted(chars)\n",
        "print(chars)\n",
    ],
    "27": [
        "a = {{A}}\nb = {{B}}\n",
        "def len_str(s):\n    return len(s)\n",
        "len_a = len_str(a)\nlen_b = len_str(b)\n",
        "result = a if len_a >= len_b else b\n",
        "print(result)\n",
    ],
    "28": [
        "f = {{A}}\n",
        "a = int(f)\n",
        'b = int(str(f).split(".")[1])\n',
        "print(a + b)\n",
    ],
    "29": [
        "my_string = {{s}}\n",
        "my_string = my_string.lower()\n",
        'n_vowels = sum(1 for char in my_string if char in "aeiou")\n',
        "print(n_vowels)\n",
    ],
    "30": [
        "f = {{n}}\n",
        "numbers = list(range(1, f + 1))\n",
        "factorial = 1\n",
        "for value in numbers:\n    factorial *= value\n",
        "print(factorial)\n",
    ],
    "31": [
        "a, b = {{a}}, {{b}}\ntwo_edges = a + b\n",
        "maximum_edge = two_edges - 1\n",
        "minimum_edge = abs(a - b) + 1\n",
        "my_tuple = (maximum_edge, minimum_edge)\n",
        "print(my_tuple)\n",
    ],
    "32": [
        """def factorial(n):
    result = 1
    for value in range(2, n + 1):
        result *= value
    return result
""",
        "def remainder_by_10(number):\n    return number % 10\n",
        "print(remainder_by_10(factorial({{n}})))\n",
    ],
    "33": [
        "n = {{n}}\n",
        "angle_sum = (n - 2) * 180\n",
        "import math\n\nangle = math.radians(angle_sum)\n",
        "angle = round(angle, 2)\n",
        "print(angle)\n",
    ],
    "34": [
        "s1 = {{s1}}\ns2 = {{s2}}\n",
        "s1, s2 = int(s1), int(s2)\n",
        "s = s1 + s2\n",
        "print(s)\n",
    ],
    "35": [
        "lst = {{l}}\n",
        "ma = max(lst)\n",
        "mi = min(lst)\n",
        "numbers = list(range(mi, ma + 1))\n",
        "print(sum(numbers))\n",
    ],
    "36": [
        "def shared_chars(word1, word2):\n    return sorted(set(word1) & set(word2))\n",
        """def count_vowels(text):
    return sum(1 for char in text.lower() if char in "aeiou")
""",
        's = "".join(shared_chars({{s1}}, {{s2}}))\n',
        "print(count_vowels(s))\n",
    ],
    "37": [
        "lst1 = {{l}}\n",
        "lst2 = [n for n in lst1 if n < 0]\n",
        "total = sum(lst2)\n",
        "print(total)\n",
    ],
    "38": [
        "import pandas as pd\n",
        # sep=None sniffs the delimiter (the mlbootcamp5 file is ';'-separated)
        'df = pd.read_csv("./datasets/mlbootcamp5_train.csv", sep=None, engine="python")\n',
        'my_counts = df.groupby("gender")[{{a1}}].value_counts()\n',
        "plain_list = my_counts.values\n",
        "print(max(plain_list))\n",
    ],
    "39": [
        "s = {{s}}\n",
        'import re\n\npattern = re.compile(r"[,.]")\n',
        's2 = pattern.sub("", s)\n',
        "words = s2.split()\n",
        "print([len(word) for word in words])\n",
    ],
    "40": [
        "s = {{s}}\n",
        "s2 = s.lower()\n",
        'import re\n\npattern3 = re.compile(r"#[0-9a-f]{3}")\n',
        'pattern6 = re.compile(r"#[0-9a-f]{6}")\n',
        "print(bool(pattern3.fullmatch(s2) or pattern6.fullmatch(s2)))\n",
    ],
}
