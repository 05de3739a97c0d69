"""The words of the lesson in plain language, for a 12-year-old: what every page's "Words"
button opens, and where the controls' help comes from."""

from __future__ import annotations

GLOSSARY = {
    "network (model)": "A program that learned from examples. It turns the 784 pixels of a 28x28 picture "
    "into ten scores, one per class, and its answer is the class with the highest score.",
    "simple one-layer model (logistic regression)": "The smallest network here: each class gets one "
    "weight per pixel, like a stencil, and the best-fitting stencil wins.",
    "layered network (MLP)": "Layers of units that each add up all the numbers from the layer before. "
    "784-256-128-64-10 means 784 pixels in, then 256, 128 and 64 units, then 10 answers.",
    "convolutional network (CNN)": "A network that slides small 5x5 pattern detectors over the picture, "
    "so it finds a stroke wherever it is. Real handwriting readers work like this.",
    "training": "Showing the network thousands of pictures with their answers and nudging its numbers "
    "a little after each batch, so it makes fewer mistakes.",
    "epoch": "One pass over all the training pictures. 25 epochs means every picture was seen 25 times.",
    "batch": "The handful of pictures the network looks at before each nudge. Batch size 64 means it "
    "learns from 64 pictures at a time.",
    "learning rate": "How big each nudge is. Too small and learning is slow; too big and it jumps past "
    "the answer and can blow up (the loss explodes).",
    "loss (cross-entropy)": "A score for how wrong the network is: 0 is perfect, and it gets bigger the "
    "more sure the network is about a wrong answer. Training tries to make it small.",
    "training images": "The pictures the network learns from. It sees their answers.",
    "validation images": "10,000 pictures kept aside. The network never learns from them, so they show "
    "how well it does on pictures it has not seen.",
    "test images": "Another 10,000 pictures, looked at once at the very end, for a fair final score.",
    "gradient": "For each of the network's numbers, which way and how much to move it to make the loss "
    "smaller. Training follows it downhill, one small step per batch.",
    "overfitting": "Learning the training pictures by heart instead of learning what a digit or a "
    "shirt looks like: the training loss keeps falling while the validation loss goes up.",
    "dropout": "While training, switching off a random part of the units at every step (p = 0.2 means "
    "one in five), so the network cannot rely on any few of them to memorise pictures.",
    "early stopping": "Keeping the network as it was at its best epoch, the one with the lowest "
    "validation loss. Patience is how many epochs without a better one to wait before stopping.",
    "seed": "The number that decides the random choices: the starting weights and the order of the "
    "batches. The same seed gives the same run again.",
    "confidence": "How much of the probability the network puts on its answer. 100% does not mean it "
    "is right: it has to pick one of its ten classes, even for a smiley.",
    "saliency": "Which pixels the answer depends on most: if you changed a bright pixel a little, the "
    "score would change a lot.",
    "feature map": "Where in the picture one of the CNN's pattern detectors found its pattern.",
    "Monte-Carlo dropout": "Asking the same question many times with dropout left on. If the answers "
    "stay the same, the network is sure; if they change, it is not.",
    "augmentation": "Showing each training picture a little turned, moved, bigger or smaller, so the "
    "network learns digits however they are drawn.",
}

# The controls' help, in the same words.
HELP = {
    "model": GLOSSARY["network (model)"],
    "dropout": GLOSSARY["dropout"],
    "epochs": GLOSSARY["epoch"],
    "learning rate": GLOSSARY["learning rate"],
    "batch size": GLOSSARY["batch"],
    "training images": "Fewer pictures are easier to learn by heart, so the network overfits sooner.",
    "patience": GLOSSARY["early stopping"] + " 0 switches it off.",
    "seed": GLOSSARY["seed"],
    "augment": GLOSSARY["augmentation"],
    "preset": "A ready-made experiment. Change any setting and it becomes your own (Custom).",
    "brush": "How thick your pen is. About 20 matches the pens of the MNIST digits.",
    "centre": "MNIST's recipe: cut out your ink, shrink it to fit 20x20 and put its middle in the middle. "
    "Switch it off to see what the network makes of the whole square as it is.",
    "steps": "The four pictures between your drawing and what the network is given.",
    "compare": "The same drawing through the simple model, the layered network and the CNN.",
    "background": "Fashion-MNIST's clothes are light on black. Say what is behind the item in your photo, "
    "or leave it to the app to guess from the picture's edges.",
    "passes": "How many times to ask, each time with other units switched off.",
    "seeds": "The same experiment three times, each with another seed. The chart then shows each "
    "setting's average and how far apart the three runs were: what is luck and what is dropout.",
    "keep": "Tell the network's answer right or wrong. Your drawing joins the class's own handwriting "
    "collection, with the digit you say it is, to test and teach models on the class's writing.",
    "log scale": "Squeezes big numbers and stretches small ones, so a small rise late in training shows.",
}
