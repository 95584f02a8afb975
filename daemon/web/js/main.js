document.getElementById("contenu").textContent = "Ardoise";
