"""Reference solutions for MTPB problems 59-77 (one code template per turn)."""

SOLUTIONS: dict[str, list[str]] = {
    "59": [
        "my_words = {{A}}",
        "word_count = {word: len(word) for word in my_words}",
        "longest_word = max(word_count, key=word_count.get)",
        "print(longest_word)",
    ],
    "60": [
        """import ast

my_numbers = ast.literal_eval({{A}})""",
        """from collections import Counter

counts = Counter(my_numbers)
my_uniques = [n for n, c in counts.items() if c == 1]""",
        "print(sum(my_uniques))",
    ],
    "61": [
        """import numpy as np

my_matrix = np.atleast_2d(np.array({{A}}))""",
        "diag_elements = np.diagonal(my_matrix)",
        "print(diag_elements.sum())",
    ],
    "62": [
        """import numpy as np

my_matrix = np.array({{A}})""",
        "t = {{T}}",
        "result = np.linalg.cond(my_matrix)",
        """if result < t:
    print("True")
else:
    print("False")""",
    ],
    "63": [
        """import numpy as np

a = np.array({{A}})""",
        "b = np.array({{B}})",
        "result = a @ b",
        "print(result.sum())",
    ],
    "64": [
        "a = {{A}}",
        "b = {{B}}",
        """def determinant(matrix):
    n = len(matrix)
    if n == 1:
        return matrix[0][0]
    if n == 2:
        return matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0]
    total = 0
    for j in range(n):
        minor = [row[:j] + row[j + 1 :] for row in matrix[1:]]
        total += (-1) ** j * matrix[0][j] * determinant(minor)
    return total""",
        """if determinant(a) > determinant(b):
    print("True")
else:
    print("False")""",
    ],
    "65": [
        "my_numbers = {{A}}",
        """import math


def exp_list(values):
    return [math.exp(v) for v in values]""",
        """def sum_list(values):
    total = 0
    for v in values:
        total += v
    return total""",
        """def log_number(x):
    return math.log(x)""",
        """# shift by the maximum so that exp() cannot overflow
shift = max(my_numbers)
print(shift + log_number(sum_list(exp_list([v - shift for v in my_numbers]))))""",
    ],
    "66": [
        "my_points = {{A}}",
        "k = {{K}}",
        """import math


def distance_to_origin(point):
    return math.hypot(point[0], point[1])""",
        """def k_closest(points, k):
    return sorted(points, key=distance_to_origin)[:k]""",
        """result = k_closest(my_points, k)
print(result[0] if k == 1 else result)""",
    ],
    "67": [
        """def LCP(s1, s2):
    i = 0
    while i < min(len(s1), len(s2)) and s1[i] == s2[i]:
        i += 1
    return s1[:i]""",
        "lst1 = {{l1}}",
        """from functools import reduce

prefix = reduce(LCP, lst1)""",
        "print(prefix)",
    ],
    "68": [
        "lst1 = {{lst1}}",
        """from collections import Counter

freq = Counter(lst1)""",
        "lst2 = [item for item, count in freq.items() if count > 1]",
        "print(lst2)",
    ],
    "69": [
        "w1 = {{w}}",
        """from collections import Counter

counts = Counter(w1)
first_unique = next((ch for ch in w1 if counts[ch] == 1), None)""",
        "n1 = w1.index(first_unique) if first_unique is not None else -1",
        "print(n1)",
    ],
    "70": [
        "sentence1 = {{s1}}",
        "sentence2 = {{s2}}",
        """import string

words1 = [w.strip(string.punctuation) for w in sentence1.split()]""",
        "words2 = [w.strip(string.punctuation) for w in sentence2.split()]",
        """from collections import Counter

counts = Counter(words1 + words2)
uncommon_words = [w for w in words1 + words2 if counts[w] == 1]""",
        "print(uncommon_words)",
    ],
    "71": [
        "sentence1 = {{s1}}",
        "words1 = sentence1.split()",
        """import string

words1 = [w.strip(string.punctuation) for w in words1]
words1 = [w for w in words1 if w]""",
        "avg = sum(len(w) for w in words1) / len(words1)",
        "print(avg)",
    ],
    "72": [
        """w1 = {{w1}}
w2 = {{w2}}""",
        """w1 = w1.lower()
w2 = w2.lower()""",
        """from collections import Counter

f1 = Counter(ch for ch in w1 if ch.isalpha())
f2 = Counter(ch for ch in w2 if ch.isalpha())""",
        "print(f1 == f2)",
    ],
    "73": [
        "w1 = {{w}}",
        "w2 = ''.join(reversed(w1))",
        "print(w2)",
    ],
    "74": [
        "num = {{n}}",
        "lst1 = list(range(1, num + 1))",
        "n1 = sum(x**2 for x in lst1)",
        "n2 = sum(lst1) ** 2",
        "print(n1 - n2)",
    ],
    "75": [
        """import numpy as np

vec1 = np.array({{lst1}})""",
        "vec2 = np.array({{lst2}})",
        "vec1 = vec1 / np.linalg.norm(vec1)",
        "vec2 = vec2 / np.linalg.norm(vec2)",
        "dot_product = np.dot(vec1, vec2)",
        "print(dot_product)",
    ],
    "76": [
        "vec1 = {{lst1}}",
        "vec2 = {{lst2}}",
        "vec3 = {{lst3}}",
        """import numpy as np

vec1, vec2, vec3 = np.array(vec1), np.array(vec2), np.array(vec3)""",
        """def dist(a, b):
    return np.linalg.norm(a - b)""",
        "d1 = dist(vec1, vec2)",
        "d2 = dist(vec1, vec3)",
        "print(d1 > d2)",
    ],
    "77": [
        "lst1 = {{l1}}",
        "lst2 = {{l2}}",
        """import math


def std(numbers):
    mean = sum(numbers) / len(numbers)
    return math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))""",
        """std1 = std(lst1)
std2 = std(lst2)""",
        "print(round(min(std1, std2), 2))",
    ],
}
