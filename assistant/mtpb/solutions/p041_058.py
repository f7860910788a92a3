"""MTPB reference solutions for problems 41-58, one code template per turn."""

from __future__ import annotations

SOLUTIONS: dict[str, list[str]] = {
    "41": [
        """def count_values(numbers):
    counts = {}
    for number in numbers:
        counts[number] = counts.get(number, 0) + 1
    return counts
""",
        "lst = {{lst}}\ncounts = count_values(lst)\n",
        """top = max(counts, key=counts.get, default=None)
if top is not None and counts[top] > len(lst) / 2:
    print(top)
else:
    print(None)
""",
    ],
    "42": [
        "import datetime\n\ntoday = datetime.datetime({{year}}, {{month}}, {{day}})\n",
        "week = today + datetime.timedelta(days=7)\n",
        'print(week.strftime("%m/%d/%Y"))\n',
    ],
    "43": [
        """def word_weight(word):
    return sum(ord(char) for char in word if char.isalpha())
""",
        "words = {{words}}\nweights = [word_weight(word) for word in words]\n",
        "print(sorted(weights) == weights)\n",
    ],
    "44": [
        """def is_palindrome(number):
    text = str(number)
    return text == text[::-1]
""",
        """def descent(number):
    digits = [int(d) for d in str(number)]
    sums = [sum(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    return int("".join(str(s) for s in sums))
""",
        "base = {{n}}\n",
        """while len(str(base)) > 1:
    if is_palindrome(base):
        break
    base = descent(base)
""",
        "print(len(str(base)) > 1)\n",
    ],
    "45": [
        "input = {{input}}\nstack = []\n",
        """for char in input:
    if char == "@":
        if stack:
            stack.pop()
    else:
        stack.append(char)
""",
        'print("".join(stack))\n',
    ],
    "46": [
        "import pandas as pd\n",
        """from sklearn.model_selection import train_test_split

df = pd.read_csv("./datasets/melb_data.csv")
""",
        "y = df.Price\n",
        'melb_predictors = df.drop(["Price"], axis=1)\n',
        'X = melb_predictors.select_dtypes(exclude=["object"])\n',
        """x_train, x_valid, y_train, y_valid = train_test_split(
    X, y, train_size={{a1}} / 100, test_size={{a2}} / 100, random_state=0
)
""",
        'print("{:.1f} {:.1f}".format(x_train.iloc[:, 0].sum(), y_train.sum()))\n',
    ],
    "47": [
        "lst1 = {{l}}\n",
        "a, b = min(lst1), max(lst1)\n",
        "lst2 = list(range(a, b + 1))\n",
        "missing = [n for n in lst2 if n not in lst1]\n",
        "print(sum(missing))\n",
    ],
    "48": [
        "lst1 = {{l}}\n",
        "def num_in_str(text):\n    return any(char.isdigit() for char in text)\n",
        "lst2 = [text for text in lst1 if num_in_str(text)]\n",
        "print(lst2)\n",
    ],
    "49": [
        "def a(number):\n    return number * int({{a1}})\n",
        "def b(number):\n    return number * int({{a2}})\n",
        "def c(number):\n    return number * int({{a3}})\n",
        "abc = [a, b, c]\n",
        "my_init = int({{a4}})\n",
        "my_result = abc[0](my_init)\n",
        "for func in abc[1:]:\n    my_result = func(my_result)\n",
        "print(my_result)\n",
    ],
    "50": [
        """from collections import Counter


def to_plural(words):
    counts = Counter(words)
    return {word + "s" if count > 1 else word for word, count in counts.items()}
""",
        'def is_plural(word):\n    return word.endswith("s")\n',
        "import ast\n\nwords = ast.literal_eval({{a1}})\n",
        "words_plural = to_plural(words)\n",
        "contains_plural = any(is_plural(word) for word in words_plural)\n",
        "print(contains_plural)\n",
    ],
    "51": [
        "import ast\n\nmy_relative_altitude = ast.literal_eval({{A}})\n",
        """from itertools import accumulate

my_net_altitude = [0, *accumulate(my_relative_altitude)]
""",
        "print(max(my_net_altitude))\n",
    ],
    "52": [
        "my_sentences = {{A}}\n",
        "k = int({{K}})\n",
        "truncated_list = my_sentences[:k]\n",
        "print(truncated_list)\n",
    ],
    # some inputs give the list as its text ("[1, 2]"): str() then literal_eval accepts both
    "53": [
        "import ast\n\nmy_numbers = ast.literal_eval(str({{A}}))\n",
        "from collections import Counter\n\nfrequencies = Counter(my_numbers)\n",
        "one_time = next(n for n, count in frequencies.items() if count == 1)\n",
        "print(one_time)\n",
    ],
    "54": [
        "import ast\n\nmy_numbers = ast.literal_eval(str({{A}}))\n",
        "val = int({{Val}})\n",
        "remove_numbers = [n for n in my_numbers if n != val]\n",
        "print(remove_numbers)\n",
    ],
    "55": [
        "import ast\n\nmy_numbers = ast.literal_eval(str({{A}}))\n",
        "val = int({{Val}})\n",
        "sum_numbers = sum(my_numbers)\n",
        '"True" if sum_numbers == val else "False"\n',
    ],
    "56": [
        "import ast\n\nmy_numbers1 = ast.literal_eval(str({{A}}))\n",
        "my_numbers2 = ast.literal_eval(str({{B}}))\n",
        "import heapq\n\nnew_list = list(heapq.merge(my_numbers1, my_numbers2))\n",
        "print(new_list)\n",
    ],
    "57": [
        "import ast\n\nmy_array = ast.literal_eval(str({{A}}))\n",
        """best_sum, best_start, best_end = my_array[0], 0, 1
current_sum, current_start = 0, 0
for i, value in enumerate(my_array):
    if current_sum <= 0:
        current_sum, current_start = value, i
    else:
        current_sum += value
    if current_sum > best_sum:
        best_sum, best_start, best_end = current_sum, current_start, i + 1
max_subarray = my_array[best_start:best_end]
""",
        "sum_subarry = sum_subarray = sum(max_subarray)\n",
        "print(sum_subarray)\n",
    ],
    "58": [
        "my_number = {{A}}\n",
        "import math\n\nsquare_root = math.sqrt(my_number)\n",
        "largest_square_root = math.floor(square_root)\n",
        "print(int(largest_square_root))\n",
    ],
}
