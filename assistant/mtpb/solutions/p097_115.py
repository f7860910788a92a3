"""Reference solutions for MTPB problems 97-115 (one code template per turn)."""

SOLUTIONS: dict[str, list[str]] = {
    "97": [
        """arrows = {{x}}
joined_arrow = "".join(arrows)""",
        """left = joined_arrow.count("<")
right = joined_arrow.count(">")""",
        """if right > left:
    print(">" * (right - left))""",
        """if not right > left:
    print("<" * (left - right))""",
    ],
    "98": [
        "array = {{x}}",
        "diff = max(array) - min(array)",
        "result = diff in array",
        "print(result)",
    ],
    "99": [
        "original = {{x}}",
        """from collections import OrderedDict

dic = OrderedDict((ch, 0) for ch in original)""",
        """for ch in original:
    dic[ch] += 1""",
        """result = ""
for key, value in dic.items():
    result += str(key) + str(value)""",
        "print(result)",
    ],
    "100": [
        r"""import re

email_pattern = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")""",
        """match = email_pattern.search({{x}})
address = match.group(0) if match else ''""",
        """address = address.split("@", 1)[0]""",
        """address = re.sub(r"[^A-Za-z]", " ", address)""",
        "print(address)",
    ],
    "101": [
        "my_numbers = {{A}}",
        """def distinct(values):
    return list(dict.fromkeys(values))""",
        "unique_list = distinct(my_numbers)",
        """ordered = sorted(unique_list, reverse=True)
print(ordered[1] if len(ordered) > 1 else ordered[0])""",
    ],
    "102": [
        "my_numbers = {{A}}",
        """def prefix_sum(values):
    sums = []
    total = 0
    for v in values:
        total += v
        sums.append(total)
    return sums""",
        "prefix_sum_list = prefix_sum(my_numbers)",
        "print(max(prefix_sum_list))",
    ],
    "103": [
        "my_numbers = {{A}}",
        "distances = [abs(x) for x in my_numbers]",
        "closest_number = min(my_numbers, key=abs)",
        "print(abs(closest_number))",
    ],
    "104": [
        "my_string = {{A}}",
        """def all_unique(s):
    return len(set(s)) == len(s)""",
        """result_substring = ""
for i in range(len(my_string)):
    for j in range(i + len(result_substring) + 1, len(my_string) + 1):
        if not all_unique(my_string[i:j]):
            break
        result_substring = my_string[i:j]""",
        "print(len(result_substring))",
    ],
    "105": [
        "my_string = {{A}}",
        """from collections import Counter

counts = Counter(my_string)
repeated = [ch for ch, c in counts.items() if c > 1]""",
        "repeated_freq = {ch: counts[ch] for ch in repeated}",
        "print(max(repeated_freq.values(), default=0))",
    ],
    "106": [
        "my_string = {{A}}",
        """def is_palindrome(s):
    return s == s[::-1]""",
        """palindromes = [
    my_string[i:j]
    for i in range(len(my_string))
    for j in range(i + 1, len(my_string) + 1)
    if is_palindrome(my_string[i:j])
]""",
        "print(max((len(p) for p in palindromes), default=0))",
    ],
    "107": [
        "my_integer = {{A}}",
        """def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True""",
        "prime_result = [n for n in range(my_integer) if is_prime(n)]",
        "print(len(prime_result))",
    ],
    "108": [
        "my_array = {{A}}",
        "k = {{K}}",
        """def rotate_one(arr):
    return arr[-1:] + arr[:-1] if arr else arr""",
        """rotated_result = my_array
for _ in range(k % len(my_array) if my_array else 0):
    rotated_result = rotate_one(rotated_result)""",
        "print(rotated_result)",
    ],
    "109": [
        "my_array = {{A}}",
        "my_sum = sum(my_array)",
        """def can_partition(array):
    total = sum(array)
    if total % 2:
        return False
    reachable = {0}
    for v in array:
        reachable |= {r + v for r in reachable}
    return total // 2 in reachable""",
        "print(can_partition(my_array))",
    ],
    "110": [
        "my_number = {{A}}",
        """import math

root_number = math.sqrt(my_number)""",
        """def integer_part(x):
    return int(x)""",
        "print(integer_part(root_number))",
    ],
    "111": [
        "my_number = {{A}}",
        "plus_number = my_number + 1",
        """def digits(n):
    return [int(d) for d in str(n)]""",
        "print(digits(plus_number))",
    ],
    "112": [
        "my_number = {{A}}",
        """def square_sum(a, b):
    return a * a + b * b""",
        """import math


def is_sum_of_two_squares(n):
    for a in range(math.isqrt(n) + 1):
        b = math.isqrt(n - a * a)
        if square_sum(a, b) == n:
            return True
    return False""",
        """if is_sum_of_two_squares(my_number):
    print("True")
else:
    print("False")""",
    ],
    "113": [
        "my_array = {{A}}",
        """import math


def std(values):
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))""",
        "result = std(my_array)",
        """if result < 1:
    print("True")
else:
    print("False")""",
    ],
    "114": [
        "my_matrix = {{A}}",
        "row_number = len(my_matrix)",
        "column_number = len(my_matrix[0])",
        "print(row_number + column_number)",
    ],
    "115": [
        "my_array = {{A}}",
        """import numpy as np

mean_number = np.mean(my_array)""",
        "median_number = np.median(my_array)",
        "print(mean_number - median_number)",
    ],
}
