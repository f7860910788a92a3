"""MTPB reference solutions for problems 1-20, one code template per turn."""

from __future__ import annotations

SOLUTIONS: dict[str, list[str]] = {
    "1": [
        "my_string = {{A}}\n",
        "my_string = my_string.lower()\n",
        "chars = set(my_string)\n",
        "chars = sorted(chars)\n",
        "print(chars)\n",
    ],
    "2": [
        "numbers = {{numbers}}\n",
        "total = sum(numbers)\n",
        "normalized = [n / total * 100 for n in numbers]\n",
        'formatted = [f"{value:.1f}" for value in normalized]\n',
        "print(formatted)\n",
    ],
    "3": [
        "def minutes_to_seconds(minutes):\n    return minutes * 60\n",
        "def hours_to_seconds(hours):\n    return hours * 3600\n",
        "print(hours_to_seconds({{a1}}) + minutes_to_seconds({{a2}}))\n",
    ],
    "4": [
        """def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
""",
        "def square(x):\n    return x * x\n",
        "print(square(fibonacci({{a1}})))\n",
    ],
    "5": [
        "import ast\n\nmy_numbers = ast.literal_eval({{A}})\n",
        "n_neg = sum(1 for n in my_numbers if n < 0)\n",
        "n_pos = sum(1 for n in my_numbers if n > 0)\n",
        "print(max(n_neg, n_pos))\n",
    ],
    "6": [
        "import pandas as pd\n",
        'df = pd.DataFrame({"Yes": [int({{a1}}), int({{a2}})], "No": [int({{a3}}), int({{a4}})]})\n',
        "means = df.mean()\n",
        "print(means)\n",
    ],
    "7": [
        """def fizz_buzz(number):
    if number % {{a1}} == 0 and number % {{a2}} == 0:
        return "fizzbuzz"
    if number % {{a1}} == 0:
        return "fizz"
    if number % {{a2}} == 0:
        return "buzz"
    return number
""",
        "numbers = list(range({{a3}}, {{a4}} + 1))\n",
        "new_list = [fizz_buzz(n) for n in numbers]\n",
        "print(new_list)\n",
    ],
    "8": [
        """def bigrams(text):
    words = text.split()
    return [[first, second] for first, second in zip(words, words[1:])]
""",
        "sentence = {{a1}}\n",
        "print(bigrams(sentence))\n",
    ],
    "9": [
        'names = ["Kevin", "John", "Mike", "Mitch"]\n'
        "my_notes = dict(zip(names, [{{a1}}, {{a2}}, {{a3}}, {{a4}}]))\n",
        """def top_note(student):
    return {"name": student["name"], "top_note": max(student["notes"])}
""",
        """my_list = [
    (name, top_note({"name": name, "notes": notes})["top_note"])
    for name, notes in my_notes.items()
]
""",
        "top_name = max(my_list, key=lambda pair: pair[1])[0]\n",
        "print(top_name)\n",
    ],
    "10": [
        "def to_binary(hex_number):\n    return bin(hex_number)[2:]\n",
        "def to_hex(binary):\n    return int(binary, 2)\n",
        "my_hex = int({{a1}}, 16)\n",
        "my_binary = to_binary(my_hex)\n",
        "result = to_hex(my_binary)\n",
        "print(result)\n",
    ],
    "11": [
        "import ast\n\nmy_dict = dict(zip(ast.literal_eval({{a1}}), ast.literal_eval({{a2}})))\n",
        "def invert(d):\n    return {value: key for key, value in d.items()}\n",
        "def is_inverted(first, second):\n    return invert(first) == second\n",
        'my_dict2 = invert(my_dict) if {{a3}} == "inverted" else dict(my_dict)\n',
        "print(is_inverted(my_dict, my_dict2))\n",
    ],
    "12": [
        """class Player:
    def __init__(self, name, age, height, weight):
        self.name = name
        self.age = age
        self.height = height
        self.weight = weight
""",
        """def get_age(self):
    return f"{self.name} is age {self.age}"


def get_height(self):
    return f"{self.name} is {self.height} cm"


def get_weight(self):
    return f"{self.name} weighs {self.weight} kg"


Player.get_age = get_age
Player.get_height = get_height
Player.get_weight = get_weight
""",
        "player = Player({{a1}}, {{a2}}, {{a3}}, {{a4}})\n",
        'print(getattr(player, "get_" + {{a5}})())\n',
    ],
    "13": [
        "def num_len(num):\n    return len(str(abs(num)))\n",
        "import ast\n\nmy_list = ast.literal_eval({{a1}})\n",
        "print(max(my_list, key=num_len))\n",
    ],
    "14": [
        "from sklearn.linear_model import LinearRegression\n",
        "import math\n",
        "x = list(range(0, 11))\n",
        "def f(value):\n    return value * 2\n",
        "import numpy as np\n\ny = np.array([f(value) for value in x])\n",
        "model = LinearRegression()\n",
        "model.fit(np.array(x).reshape(-1, 1), y.reshape(-1, 1))\n",
        "x_hat = model.predict([[int({{a1}})]])\n",
        "print(int(math.ceil(x_hat[0][0])))\n",
    ],
    "15": [
        """import string

LOWER = string.ascii_lowercase
SHIFTED = LOWER[2:] + LOWER[:2]


def encrypt(text):
    return text.translate(str.maketrans(LOWER, SHIFTED))
""",
        "def decrypt(text):\n    return text.translate(str.maketrans(SHIFTED, LOWER))\n",
        "original_text = {{a1}}\n",
        "encrypted_text = encrypt(original_text)\n",
        "restored_text = decrypt(encrypted_text)\n",
        "my_result = [restored_text, encrypted_text]\n",
        "print(my_result)\n",
    ],
    "16": [
        """class Person:
    def __init__(self, name, id):
        self.name = name
        self.id = id
""",
        """def person_hash(self):
    return hash(getattr(self, {{a1}}))


Person.__hash__ = person_hash
""",
        """def person_eq(self, other):
    return hash(self) == hash(other)


Person.__eq__ = person_eq
""",
        """import ast

names = ["Person A", "Person B", "Person " + {{a3}}]
persons = [Person(name, id) for name, id in zip(names, ast.literal_eval({{a2}}))]
""",
        "unique_persons = set(persons)\n",
        "print(len(unique_persons))\n",
    ],
    "17": [
        """import builtins


def str(value):  # drunk: str() gives an int
    return builtins.int(value)


def int(value):  # drunk: int() gives a str
    return builtins.str(value)
""",
        "def int_to_str(number):\n    return str(number)\n",
        "def str_to_int(text):\n    return int(text)\n",
        "import ast\n\nmy_result = [int_to_str(ast.literal_eval({{a1}})), str_to_int({{a1}})]\n",
        "print(my_result)\n",
    ],
    "18": [
        """chars_to_dots = {
    "A": ".-", "B": "-...", "C": "-.-.", "D": "-..", "E": ".", "F": "..-.",
    "G": "--.", "H": "....", "I": "..", "J": ".---", "K": "-.-", "L": ".-..",
    "M": "--", "N": "-.", "O": "---", "P": ".--.", "Q": "--.-", "R": ".-.",
    "S": "...", "T": "-", "U": "..-", "V": "...-", "W": ".--", "X": "-..-",
    "Y": "-.--", "Z": "--..", " ": " ", "0": "-----", "1": ".----",
    "2": "..---", "3": "...--", "4": "....-", "5": ".....", "6": "-....",
    "7": "--...", "8": "---..", "9": "----.", "&": ".-...", "'": ".----.",
    "@": ".--.-.", ")": "-.--.-", "(": "-.--.", ":": "---...", ",": "--..--",
    "=": "-...-", "!": "-.-.--", ".": ".-.-.-", "-": "-....-", "+": ".-.-.",
    '"': ".-..-.", "?": "..--..", "/": "-..-.",
}
""",
        """def encode_morse(text):
    return " ".join(chars_to_dots[char] for char in text.upper())
""",
        """def decode_morse(code):
    dots_to_chars = {dots: char for char, dots in chars_to_dots.items()}
    words = code.split("   ")
    return " ".join("".join(dots_to_chars[c] for c in word.split(" ")) for word in words)
""",
        "morse_code = encode_morse({{a1}})\n",
        "decoded_text = decode_morse(morse_code)\n",
        "print(decoded_text)\n",
    ],
    "19": [
        "import ast\n\nnumbers = ast.literal_eval({{a1}})\ntarget = ast.literal_eval({{a2}})\n",
        """def two_sum(nums, target):
    seen = {}
    for j, num in enumerate(nums):
        if target - num in seen:
            return [seen[target - num], j]
        seen[num] = j
    return None
""",
        "print(two_sum(numbers, target))\n",
    ],
    "20": [
        """import numpy as np


def sample_points(n, x_mean, y_mean, x_std, y_std):
    xs = np.random.normal(x_mean, x_std, n)
    ys = np.random.normal(y_mean, y_std, n)
    return np.column_stack([xs, ys])
""",
        "points1 = sample_points(100, {{a1}}, {{a1}}, 1, 1)\n",
        "points2 = sample_points(100, -{{a1}}, -{{a1}}, 1, 1)\n",
        "points = np.concatenate([points1, points2])\n",
        """def kmeans(points, k, n_iterations):
    centroids = points[np.random.choice(len(points), k, replace=False)]
    for _ in range(n_iterations):
        distances = np.linalg.norm(points[:, None, :] - centroids[None, :, :], axis=2)
        labels = distances.argmin(axis=1)
        centroids = np.array([
            points[labels == j].mean(axis=0) if np.any(labels == j) else centroids[j]
            for j in range(k)
        ])
    return centroids
""",
        "my_centroids = kmeans(points, 2, 100)\n",
        """c1 = min(my_centroids, key=lambda c: c.sum())
c2 = max(my_centroids, key=lambda c: c.sum())
c1 = np.rint(c1).astype(int)
c2 = np.rint(c2).astype(int)
print(f"({c1[0]}, {c1[1]}), ({c2[0]}, {c2[1]})")
""",
    ],
}
